-- OGC collection "service_facilities": public service facilities with their area's code.
SELECT f.code AS fid,
       f.geom,
       a.code AS scope_code,
       NULL::timestamptz AS t_start,
       NULL::timestamptz AS t_end,
       f.code,
       f.name,
       f.kind,
       f.address,
       f.opening_hours,
       f.phone,
       a.code AS area_code
  FROM service_facility f
  JOIN area a ON a.id = f.area_id
