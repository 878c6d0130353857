-- The 2030 outlook of every municipal and aggregate row: the pace observed between the first and the last
-- reference date of the run (households newly reached by FTTH per year), the share at the end of :outlook_year if
-- that pace holds, and the year every household would be reached. A negative pace is taken as none for the
-- projection (and flagged on municipal rows as 'ftth_decrease'); a pace of zero gives no year.
-- Written to a temporary table that the municipal and aggregate rows are then updated from.
CREATE TEMPORARY TABLE coverage_outlook ON COMMIT DROP AS
WITH rows AS (
    SELECT 'municipality' AS level, pro_com_t AS code, ref_date, households::float8 AS households,
           households_ftth::float8 AS ftth
    FROM out.coverage_comune WHERE run_id = :run_id
    UNION ALL
    SELECT level, code, ref_date, households, households_ftth FROM out.coverage_area WHERE run_id = :run_id
), pace AS (
    -- one aggregate per territory, no self-join: first and last figures of the dates with a known FTTH count
    SELECT level, code, min(ref_date) AS first_date, max(ref_date) AS last_date,
           CASE WHEN max(ref_date) > min(ref_date) THEN
               ((array_agg(ftth ORDER BY ref_date DESC))[1] - (array_agg(ftth ORDER BY ref_date))[1])
               / ((max(ref_date) - min(ref_date)) / 365.25) END AS per_year,
           max(ref_date) - min(ref_date) AS days
    FROM rows WHERE ftth IS NOT NULL GROUP BY level, code
), outlook AS (
    SELECT r.level, r.code, r.ref_date, p.first_date, p.per_year,
           CASE WHEN r.households > 0 AND p.per_year IS NOT NULL THEN
               least(r.households, r.ftth + greatest(p.per_year, 0)
                     * ((make_date(CAST(:outlook_year AS integer), 12, 31) - r.ref_date) / 365.25)) / r.households
           END AS share_2030,
           r.households - r.ftth AS remaining,
           CASE WHEN p.days IS NULL OR p.days = 0 THEN 'una sola data: ritmo non osservabile'
                ELSE 'ritmo osservato su ' || p.days || ' giorni (' || to_char(p.first_date, 'DD/MM/YYYY') || '–'
                     || to_char(p.last_date, 'DD/MM/YYYY') || ')'
                     || CASE WHEN p.days < 365 THEN ': meno di un anno di dati, base debole' ELSE '' END END AS basis
    FROM rows r LEFT JOIN pace p USING (level, code)
), result AS (
    SELECT level, code, ref_date, first_date, per_year, share_2030,
           CASE WHEN remaining <= 0 THEN extract(year FROM ref_date)::integer
                WHEN per_year > 0 AND remaining / per_year <= :outlook_max_years
                    THEN extract(year FROM ref_date + ceil(remaining / per_year * 365.25)::integer)::integer
           END AS full_year,
           concat_ws('; ', basis,
               CASE WHEN remaining <= 0 THEN 'tutte le famiglie già raggiunte'
                    WHEN per_year < 0 THEN 'ritmo negativo (famiglie FTTH in calo): anno di copertura completa non stimabile'
                    WHEN per_year = 0 THEN 'ritmo nullo: anno di copertura completa non stimabile'
                    WHEN per_year > 0 AND remaining / per_year > :outlook_max_years
                        THEN 'a questo ritmo oltre ' || :outlook_max_years || ' anni'
               END) AS note
    FROM outlook
)
SELECT level, code, ref_date, first_date, per_year, share_2030, full_year, note FROM result
