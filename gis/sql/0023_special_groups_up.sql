-- Special groups a grid looks after (gis/special_groups.py owns the keys; a test checks that
-- this CHECK lists the same ones). A text[] rather than a join table: a resident has at most a
-- few, they are always read with the resident, and the GIN index serves "who is in group X".
ALTER TABLE resident ADD COLUMN special_groups text[] NOT NULL DEFAULT '{}';
ALTER TABLE resident ADD CONSTRAINT resident_special_groups_known CHECK (
    special_groups <@ ARRAY['elderly_alone', 'empty_nest', 'hardship', 'disabled',
                            'left_behind_child', 'veteran']::text[]
);
CREATE INDEX resident_special_groups_gin ON resident USING gin (special_groups)
    WHERE special_groups <> '{}';
