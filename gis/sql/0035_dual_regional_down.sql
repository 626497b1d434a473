DROP INDEX IF EXISTS party_member_registered_idx;
DROP INDEX IF EXISTS service_order_unit_idx;
DELETE FROM service_order WHERE origin <> 'resident' OR unit_id IS NOT NULL;
ALTER TABLE service_order
    DROP CONSTRAINT service_order_need_rated,
    DROP CONSTRAINT service_order_need_hours,
    DROP CONSTRAINT service_order_need_titled,
    DROP CONSTRAINT service_order_letter_for_unit,
    DROP CONSTRAINT service_order_one_doer,
    DROP CONSTRAINT service_order_claimed_has_doer;
ALTER TABLE service_order
    ADD CONSTRAINT service_order_claimed_has_member CHECK (
        status IN ('ordered', 'published', 'cancelled') OR member_id IS NOT NULL);
ALTER TABLE service_order
    DROP COLUMN community_comment,
    DROP COLUMN community_rating,
    DROP COLUMN hours,
    DROP COLUMN letter_code,
    DROP COLUMN agreement_id,
    DROP COLUMN unit_id,
    DROP COLUMN title,
    DROP COLUMN origin;
DROP TABLE IF EXISTS regional_committee_seat;
DROP TABLE IF EXISTS regional_resource;
DROP TABLE IF EXISTS joint_agreement;
DROP TABLE IF EXISTS regional_unit_building;
DROP TABLE IF EXISTS regional_unit;
