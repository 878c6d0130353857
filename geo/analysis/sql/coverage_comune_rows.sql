-- Coverage per municipality and AGCOM reference date: households and FTTH (AGCOM), population estimates
-- (ISTAT population × FTTH household share), Infratel civic numbers without >300 Mbit/s by 2028, gap classes.
-- The rows of out.coverage_comune, for the provinces in :provinces (NULL: all); coverage_comune.sql stores them,
-- and the partitioned path runs this per province on its workers.
-- The gap class is the first of the reference classes (:class_names, best first) whose FTTH floor and listed-civic
-- ceiling the municipality meets; 'unknown' where an input is missing or anomalous (the anomalies say which).
WITH pop AS (
    SELECT pro_com_t, total FROM ref.comune_population
    WHERE ref_date = :population_date
      AND (CAST(:provinces AS text[]) IS NULL OR left(pro_com_t, 3) = ANY(:provinces))
), civ AS (
    SELECT pro_com_t,
           count(*) FILTER (WHERE caratteristica = 'A') AS a,
           count(*) FILTER (WHERE caratteristica = 'B') AS b,
           count(*) FILTER (WHERE caratteristica = 'C') AS c,
           count(*) AS total
    FROM cov.infratel_civico
    WHERE CAST(:provinces AS text[]) IS NULL OR left(pro_com_t, 3) = ANY(:provinces)
    GROUP BY pro_com_t
), grid AS (
    SELECT z.pro_com_t, z.sum AS population FROM cov.raster_zonal z WHERE z.raster = :population_grid
), base AS (
    SELECT c.pro_com_t, a.ref_date, c.cod_uts, p.total AS population,
           a.famiglie_residenti AS households, a.famiglie_raggiunte_ftth AS households_ftth,
           CASE WHEN a.famiglie_residenti > 0 THEN a.famiglie_raggiunte_ftth::float8 / a.famiglie_residenti END
               AS ftth_share,
           a.celle20m_fttc > 0 AS fttc_present, a.celle20m_raggiunte, a.celle20m_ftth, a.celle20m_fttc,
           v.a AS civici_a, v.b AS civici_b, v.c AS civici_c, v.total AS civici_unserved,
           g.population AS grid_population,
           CASE WHEN a.famiglie_residenti > 0 THEN p.total::float8 / a.famiglie_residenti END AS persons_per_household
    FROM ref.comune c
    JOIN cov.agcom_comune a USING (pro_com_t)
    LEFT JOIN pop p USING (pro_com_t)
    LEFT JOIN civ v USING (pro_com_t)
    LEFT JOIN grid g USING (pro_com_t)
    WHERE CAST(:provinces AS text[]) IS NULL OR c.cod_uts = ANY(:provinces)
), checked AS (
    SELECT *,
           CASE WHEN population > 0 THEN civici_unserved * :per_inhabitants / population END AS civici_per_1000,
           concat_ws(';',
               CASE WHEN population IS NULL THEN 'missing_population' END,
               CASE WHEN civici_unserved IS NULL THEN 'missing_infratel' END,
               CASE WHEN households_ftth IS NULL OR NOT households > 0 THEN 'missing_agcom_households' END,
               CASE WHEN persons_per_household > :persons_per_household_max THEN 'persons_per_household_high' END,
               CASE WHEN persons_per_household < :persons_per_household_min THEN 'persons_per_household_low' END,
               CASE WHEN households_ftth > households THEN 'ftth_above_households' END
           ) AS anomalies
    FROM base
)
SELECT CAST(:run_id AS integer) AS run_id, pro_com_t, ref_date, cod_uts, population, households, households_ftth,
       households - households_ftth AS households_without_ftth, ftth_share, fttc_present,
       celle20m_raggiunte AS cells20m_reached, celle20m_ftth AS cells20m_ftth, celle20m_fttc AS cells20m_fttc,
       round(population * ftth_share)::integer AS population_with_ftth,
       population - round(population * ftth_share)::integer AS population_without_ftth,
       civici_a, civici_b, civici_c, civici_unserved, civici_per_1000,
       CASE WHEN anomalies <> '' THEN 'unknown' ELSE {gap_class} END AS gap_class,
       'undetermined' AS eu_area_class,
       CAST(:eu_area_reason AS text) AS eu_area_reason,
       grid_population,
       nullif(anomalies, '') AS anomalies
FROM checked
