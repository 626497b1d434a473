-- Back to the chain of 0029: 党员中心户 as organisations again, members attached to their group.
ALTER TABLE app_user DROP COLUMN member_id;
DROP TABLE party_learning_record, party_course, party_care_record, party_member_away,
    party_member_transfer;
DROP FUNCTION party_history_append_only();
DROP TRIGGER party_org_keeps_members ON party_org;
DROP TRIGGER party_member_check_relation ON party_member;
DROP FUNCTION party_member_check_relation();
DROP TRIGGER party_org_check_chain ON party_org;
DROP FUNCTION party_org_check_chain();

ALTER TABLE party_org
    DROP CONSTRAINT party_org_type_fits_level,
    DROP CONSTRAINT party_org_level_check,
    ADD CONSTRAINT party_org_level_check
        CHECK (level IN ('street', 'community', 'grid', 'building', 'household')),
    DROP CONSTRAINT party_org_org_type_check,
    ADD CONSTRAINT party_org_org_type_check
        CHECK (org_type IN ('党工委', '党委', '党总支', '党支部', '党小组', '党员中心户')),
    DROP CONSTRAINT party_org_serves,
    ADD CONSTRAINT party_org_serves CHECK (
        (level IN ('street', 'community', 'grid') AND area_id IS NOT NULL) OR
        (level = 'building' AND building_id IS NOT NULL) OR
        (level = 'household' AND household_id IS NOT NULL));

-- Members transferred out of the register have no organisation here: 0029 cannot hold them.
DELETE FROM party_member WHERE org_id IS NULL;
UPDATE party_member SET org_id = group_id WHERE group_id IS NOT NULL;

INSERT INTO party_org (code, name, level, org_type, parent_id, household_id, founded_on,
                       district_code, geom)
SELECT c.code, b.name || '党员中心户', 'household', '党员中心户',
       m.org_id, c.household_id, c.named_on, c.district_code, b.anchor
  FROM party_central_household c
  JOIN party_member m ON m.id = c.member_id
  JOIN household h ON h.id = c.household_id
  JOIN building b ON b.id = h.building_id;
UPDATE party_member m SET org_id = o.id FROM party_central_household c JOIN party_org o ON o.code = c.code
 WHERE c.member_id = m.id;
DROP TABLE party_central_household_served, party_central_household;

ALTER TABLE party_member
    DROP CONSTRAINT party_member_one_relation,
    DROP CONSTRAINT party_member_group_needs_branch,
    DROP COLUMN care_flags,
    DROP COLUMN external_org,
    DROP COLUMN group_id,
    ALTER COLUMN org_id SET NOT NULL;

UPDATE party_org o SET org_type = '党工委' WHERE o.level = 'street';
ALTER TABLE party_org ADD CONSTRAINT party_org_type_fits_level CHECK (
    (level = 'street' AND org_type = '党工委') OR
    (level = 'community' AND org_type IN ('党委', '党总支', '党支部')) OR
    (level = 'grid' AND org_type = '党支部') OR
    (level = 'building' AND org_type = '党小组') OR
    (level = 'household' AND org_type = '党员中心户'));
