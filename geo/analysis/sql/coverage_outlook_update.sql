-- Copy the outlook of coverage_outlook.sql onto the rows of {table}.
UPDATE {table} t
SET outlook_from = r.first_date,
    pace_households_per_year = r.per_year,
    ftth_share_2030 = r.share_2030,
    full_ftth_year = r.full_year,
    reaches_2030_target = r.share_2030 >= :outlook_target_share,
    outlook_note = r.note
    {extra}
FROM coverage_outlook r
WHERE t.run_id = :run_id AND {match} AND r.ref_date = t.ref_date
