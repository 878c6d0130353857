-- Census 2021 grid population per municipality (cells split by area, ref.popgrid_part) and, with no cell-level
-- FTTH data, the municipal FTTH household share applied to it: the grid counterpart of population_without_ftth.
WITH totals AS (
    SELECT pro_com_t, sum(population) AS population FROM ref.popgrid_part GROUP BY pro_com_t
)
UPDATE out.coverage_comune cc
SET census_population = t.population,
    census_population_without_ftth = t.population * greatest(0, 1 - cc.ftth_share)
FROM totals t
WHERE cc.run_id = :run_id AND cc.pro_com_t = t.pro_com_t
