DROP INDEX IF EXISTS resident_special_groups_gin;
ALTER TABLE resident DROP CONSTRAINT IF EXISTS resident_special_groups_known;
ALTER TABLE resident DROP COLUMN IF EXISTS special_groups;
