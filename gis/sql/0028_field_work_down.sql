DROP TABLE household_visit;
DROP TABLE patrol_finding;
DROP TABLE patrol_point;
DROP TABLE patrol;
