-- A re-import finds a case by the code its source system gave it (gis/io/load.py).
CREATE INDEX incident_source_code_idx ON incident ((attributes ->> 'source_code'))
    WHERE attributes ? 'source_code';
