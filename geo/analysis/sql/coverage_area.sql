-- Province and whole-area figures from the municipal counts of the same run (household-weighted shares,
-- never averages of municipal percentages).
INSERT INTO out.coverage_area (
    run_id, level, code, ref_date, municipalities, population, households, households_ftth,
    households_without_ftth, ftth_share, population_with_ftth, population_without_ftth, civici_a, civici_b,
    civici_c, civici_unserved, market_failure_candidates, municipalities_by_class
)
WITH classes AS (
    SELECT cod_uts, ref_date, gap_class, count(*) AS n FROM out.coverage_comune WHERE run_id = :run_id
    GROUP BY GROUPING SETS ((cod_uts, ref_date, gap_class), (ref_date, gap_class))
), by_class AS (
    SELECT cod_uts, ref_date, jsonb_object_agg(gap_class, n ORDER BY gap_class) AS counts
    FROM classes GROUP BY cod_uts, ref_date
)
SELECT :run_id,
       CASE WHEN grouping(cc.cod_uts) = 1 THEN 'area' ELSE 'province' END,
       CASE WHEN grouping(cc.cod_uts) = 1 THEN 'all' ELSE cc.cod_uts END,
       cc.ref_date,
       count(*),
       sum(population),
       sum(households),
       sum(households_ftth),
       sum(households_without_ftth),
       sum(households_ftth)::float8 / nullif(sum(households) FILTER (WHERE households_ftth IS NOT NULL), 0),
       sum(population_with_ftth),
       sum(population_without_ftth),
       sum(civici_a),
       sum(civici_b),
       sum(civici_c),
       sum(civici_unserved),
       count(*) FILTER (WHERE civici_unserved >= :min_listed_civics),
       (SELECT b.counts FROM by_class b
        WHERE b.cod_uts IS NOT DISTINCT FROM (CASE WHEN grouping(cc.cod_uts) = 1 THEN NULL ELSE cc.cod_uts END)
          AND b.ref_date = cc.ref_date)
FROM out.coverage_comune cc
WHERE run_id = :run_id
GROUP BY GROUPING SETS ((cc.cod_uts, cc.ref_date), (cc.ref_date))
