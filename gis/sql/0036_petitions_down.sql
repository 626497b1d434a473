DROP TABLE dispute_transition;
DROP TABLE dispute_followup;
DROP TABLE dispute_agreement;
DROP TABLE dispute_session;
DROP TABLE dispute_party;
DROP TABLE dispute;
DROP TABLE petition_transition;
DROP TABLE petition;
DROP TABLE phone_verification;
DELETE FROM app_user WHERE role = 'resident';
ALTER TABLE app_user DROP CONSTRAINT app_user_resident_household;
ALTER TABLE app_user DROP COLUMN resident_id;
ALTER TABLE app_user DROP COLUMN household_id;
ALTER TABLE app_user DROP CONSTRAINT app_user_role_check;
ALTER TABLE app_user ADD CONSTRAINT app_user_role_check CHECK (role IN (
    'admin', 'district_secretary', 'street_secretary', 'community_secretary',
    'grid_chief', 'grid_worker', 'party_instructor', 'command_operator',
    'planner', 'party_member'));
