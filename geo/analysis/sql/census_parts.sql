-- Census grid cells split by municipality: each cell's population shared among the municipalities it meets in
-- proportion to the area inside each. Municipal polygons are cut into pieces of at most 256 vertices first (their
-- full-resolution outlines make every cell intersection slow); a cell wholly inside a piece is not cut at all.
-- Density is per km² of land.
WITH pieces AS (
    SELECT pro_com_t, ST_Subdivide(geom, 256) AS geom FROM ref.comune
), cut AS (
    SELECT p.pro_com_t, g.grd_id,
           CASE WHEN ST_Within(g.geom, p.geom) THEN g.geom
                ELSE ST_CollectionExtract(ST_Intersection(g.geom, p.geom), 3) END AS part
    FROM ref.popgrid_cell g JOIN pieces p ON ST_Intersects(p.geom, g.geom)
    WHERE g.population > 0
), parts AS (
    -- the pieces of one municipality do not overlap: their areas add up, and collecting them needs no union
    SELECT pro_com_t, grd_id, sum(ST_Area(part)) AS area_m2, ST_Multi(ST_CollectionExtract(ST_Collect(part), 3)) AS geom
    FROM cut GROUP BY pro_com_t, grd_id
)
SELECT s.pro_com_t, g.grd_id, g.res_m,
       g.population * s.area_m2 / ST_Area(g.geom) AS population,
       s.area_m2 / 1e6 AS area_km2,
       g.population / greatest(coalesce(g.land_share, 1) * ST_Area(g.geom) / 1e6, 0.01) AS density_per_km2,
       s.geom
FROM parts s JOIN ref.popgrid_cell g USING (grd_id)
WHERE s.area_m2 > 0
