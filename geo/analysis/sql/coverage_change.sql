-- Households newly reached by FTTH between consecutive reference dates, per municipality, province and area.
-- One window pass (no self-join: at 7,900 municipalities a join of the two CTE scans took 17 s).
INSERT INTO out.coverage_change (
    run_id, level, code, from_date, to_date, households_ftth_from, households_ftth_to, households_newly_reached
)
WITH dates AS (
    SELECT DISTINCT ref_date FROM out.coverage_comune WHERE run_id = :run_id
), pairs AS (
    SELECT lag(ref_date) OVER (ORDER BY ref_date) AS from_date, ref_date AS to_date FROM dates
), figures AS (
    SELECT 'municipality' AS level, pro_com_t AS code, ref_date, households_ftth::bigint AS ftth
    FROM out.coverage_comune WHERE run_id = :run_id
    UNION ALL
    SELECT level, code, ref_date, households_ftth FROM out.coverage_area WHERE run_id = :run_id
), steps AS (
    SELECT level, code, lag(ref_date) OVER w AS from_date, ref_date AS to_date, lag(ftth) OVER w AS ftth_from,
        ftth AS ftth_to
    FROM figures
    WINDOW w AS (PARTITION BY level, code ORDER BY ref_date)
)
-- a municipality missing at the previous date has no change for this pair
SELECT :run_id, s.level, s.code, s.from_date, s.to_date, s.ftth_from, s.ftth_to, s.ftth_to - s.ftth_from
FROM steps s
JOIN pairs p ON p.from_date = s.from_date AND p.to_date = s.to_date
