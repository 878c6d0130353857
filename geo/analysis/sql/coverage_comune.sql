-- Store the rows of coverage_comune_rows.sql for every loaded province.
INSERT INTO out.coverage_comune (
    run_id, pro_com_t, ref_date, cod_uts, population, households, households_ftth, households_without_ftth,
    ftth_share, fttc_present, cells20m_reached, cells20m_ftth, cells20m_fttc, population_with_ftth,
    population_without_ftth, civici_a, civici_b, civici_c, civici_unserved, civici_per_1000, gap_class,
    eu_area_class, eu_area_reason, grid_population, anomalies
)
{rows}
