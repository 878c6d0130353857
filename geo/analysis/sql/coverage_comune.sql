-- Coverage per municipality and AGCOM reference date: households and FTTH (AGCOM), population estimates
-- (ISTAT population × FTTH household share), Infratel civic numbers without >300 Mbit/s by 2028, gap classes.
INSERT INTO out.coverage_comune (
    run_id, pro_com_t, ref_date, cod_uts, population, households, households_ftth, households_without_ftth,
    ftth_share, fttc_present, cells20m_reached, cells20m_ftth, cells20m_fttc, population_with_ftth,
    population_without_ftth, civici_a, civici_b, civici_c, civici_unserved, civici_per_1000, gap_class,
    eu_area_class, grid_population
)
WITH pop AS (
    SELECT pro_com_t, total FROM ref.comune_population WHERE ref_date = :population_date
), civ AS (
    SELECT pro_com_t,
           count(*) FILTER (WHERE caratteristica = 'A') AS a,
           count(*) FILTER (WHERE caratteristica = 'B') AS b,
           count(*) FILTER (WHERE caratteristica = 'C') AS c,
           count(*) AS total
    FROM cov.infratel_civico GROUP BY pro_com_t
), grid AS (
    SELECT z.pro_com_t, z.sum AS population FROM cov.raster_zonal z WHERE z.raster = :population_grid
), base AS (
    SELECT c.pro_com_t, a.ref_date, c.cod_uts, p.total AS population,
           a.famiglie_residenti AS households, a.famiglie_raggiunte_ftth AS households_ftth,
           CASE WHEN a.famiglie_residenti > 0 THEN a.famiglie_raggiunte_ftth::float8 / a.famiglie_residenti END
               AS ftth_share,
           a.celle20m_fttc > 0 AS fttc_present, a.celle20m_raggiunte, a.celle20m_ftth, a.celle20m_fttc,
           coalesce(v.a, 0) AS civici_a, coalesce(v.b, 0) AS civici_b, coalesce(v.c, 0) AS civici_c,
           coalesce(v.total, 0) AS civici_unserved, g.population AS grid_population
    FROM ref.comune c
    JOIN cov.agcom_comune a USING (pro_com_t)
    LEFT JOIN pop p USING (pro_com_t)
    LEFT JOIN civ v USING (pro_com_t)
    LEFT JOIN grid g USING (pro_com_t)
)
SELECT :run_id, pro_com_t, ref_date, cod_uts, population, households, households_ftth,
       households - households_ftth, ftth_share, fttc_present, celle20m_raggiunte, celle20m_ftth, celle20m_fttc,
       round(population * ftth_share)::integer,
       population - round(population * ftth_share)::integer,
       civici_a, civici_b, civici_c, civici_unserved,
       CASE WHEN population > 0 THEN civici_unserved * :per_inhabitants / population END,
       CASE WHEN civici_unserved >= :min_listed_civics THEN 'market_failure_candidate' ELSE 'no_listed_gap' END,
       'undetermined',
       grid_population
FROM base
