-- Households newly reached by FTTH between consecutive reference dates, per municipality, province and area.
INSERT INTO out.coverage_change (
    run_id, level, code, from_date, to_date, households_ftth_from, households_ftth_to, households_newly_reached
)
WITH dates AS (
    SELECT DISTINCT ref_date FROM out.coverage_comune WHERE run_id = :run_id
), pairs AS (
    SELECT ref_date AS from_date, lead(ref_date) OVER (ORDER BY ref_date) AS to_date FROM dates
), figures AS (
    SELECT 'municipality' AS level, pro_com_t AS code, ref_date, households_ftth::bigint AS ftth
    FROM out.coverage_comune WHERE run_id = :run_id
    UNION ALL
    SELECT level, code, ref_date, households_ftth FROM out.coverage_area WHERE run_id = :run_id
)
SELECT :run_id, f.level, f.code, p.from_date, p.to_date, f.ftth, t.ftth, t.ftth - f.ftth
FROM pairs p
JOIN figures f ON f.ref_date = p.from_date
JOIN figures t ON t.ref_date = p.to_date AND t.level = f.level AND t.code = f.code
WHERE p.to_date IS NOT NULL
