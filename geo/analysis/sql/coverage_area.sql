-- Province and whole-area figures from the municipal counts of the same run (household-weighted shares,
-- never averages of municipal percentages).
INSERT INTO out.coverage_area (
    run_id, level, code, ref_date, municipalities, population, households, households_ftth,
    households_without_ftth, ftth_share, population_with_ftth, population_without_ftth, civici_unserved,
    market_failure_candidates
)
SELECT :run_id,
       CASE WHEN grouping(cod_uts) = 1 THEN 'area' ELSE 'province' END,
       CASE WHEN grouping(cod_uts) = 1 THEN 'all' ELSE cod_uts END,
       ref_date,
       count(*),
       sum(population),
       sum(households),
       sum(households_ftth),
       sum(households_without_ftth),
       sum(households_ftth)::float8 / nullif(sum(households) FILTER (WHERE households_ftth IS NOT NULL), 0),
       sum(population_with_ftth),
       sum(population_without_ftth),
       sum(civici_unserved),
       count(*) FILTER (WHERE gap_class = 'market_failure_candidate')
FROM out.coverage_comune
WHERE run_id = :run_id
GROUP BY GROUPING SETS ((cod_uts, ref_date), (ref_date))
