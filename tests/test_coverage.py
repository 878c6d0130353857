"""Coverage-gap analysis: accounting invariants, aggregates, change, hand-computed figures from the source files,
monotone classification, reproducible runs and school connectivity."""

import csv
import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from geo.analysis import coverage, runs
from geo.reference import (
    ReferenceTableError,
    gap_classes,
    read_rows,
    validate_gap_classes,
)


@pytest.fixture(scope="module")
def analysed(layers):
    store, _ = layers
    run = coverage.analyze(store.engine)
    return store, run.id


def _frame(store, sql, **params):
    with store.engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def test_municipal_accounting_adds_up(analysed):
    store, run = analysed
    rows = _frame(store, "SELECT * FROM out.coverage_comune WHERE run_id = :r", r=run)
    assert len(rows) == 625 * 2
    known = rows["households_ftth"].notna()
    assert (
        rows.loc[known, "households_ftth"] + rows.loc[known, "households_without_ftth"] == rows.loc[known, "households"]
    ).all()
    assert (rows["population_with_ftth"] + rows["population_without_ftth"] == rows["population"]).all()
    listed = rows[rows["civici_unserved"].notna()]
    assert (listed["civici_a"] + listed["civici_b"] + listed["civici_c"] == listed["civici_unserved"]).all()
    assert rows["civici_unserved"].isna().sum() == 2 * 2  # Credaro and Incudine: absent from the list, not zero
    assert rows["ftth_share"].between(0, 1).all()
    assert (rows["population_with_ftth"] >= 0).all() and (rows["population_without_ftth"] >= 0).all()
    assert set(rows["eu_area_class"]) == {"undetermined"}
    assert rows["eu_area_reason"].str.contains("operator-level data are missing").all()


def test_aggregates_are_sums_of_their_parts(analysed):
    store, run = analysed
    parts = _frame(store, "SELECT * FROM out.coverage_comune WHERE run_id = :r", r=run)
    areas = _frame(store, "SELECT * FROM out.coverage_area WHERE run_id = :r", r=run)
    for column in (
        "households", "households_ftth", "population", "population_with_ftth", "civici_unserved", "civici_a",
        "civici_b", "civici_c",
    ):  # fmt: skip
        by_province = parts.groupby(["cod_uts", "ref_date"])[column].sum()
        provinces = areas[areas["level"] == "province"].set_index(["code", "ref_date"])[column]
        assert (provinces.sort_index().to_numpy() == by_province.sort_index().to_numpy()).all(), column
        whole = areas[areas["level"] == "area"].set_index("ref_date")[column]
        assert (
            whole.sort_index().to_numpy() == provinces.groupby(level="ref_date").sum().sort_index().to_numpy()
        ).all()
    for _, row in areas.iterrows():
        assert row["ftth_share"] == pytest.approx(row["households_ftth"] / row["households"])


def test_change_between_dates(analysed):
    store, run = analysed
    change = _frame(store, "SELECT * FROM out.coverage_change WHERE run_id = :r", r=run)
    assert set(zip(change["from_date"].astype(str), change["to_date"].astype(str), strict=True)) == {
        ("2025-03-31", "2025-06-30")
    }
    assert (change["households_newly_reached"] == change["households_ftth_to"] - change["households_ftth_from"]).all()
    municipal = change[change["level"] == "municipality"]["households_newly_reached"].sum()
    assert change[change["level"] == "area"]["households_newly_reached"].item() == municipal == 896_161 - 861_664


def _source_figures(shared_data, code):
    """One municipality's figures read straight from the publishers' files with the csv module."""
    with open(
        shared_data / "agcom_rete_cablata_comuni/original/Reportistica_250630_Comuni.csv", encoding="utf-8"
    ) as fh:
        agcom = next(r for r in csv.DictReader(fh) if r["pro_com"] == str(int(code)))
    with open(shared_data / "infratel_mappatura2025_civici_non_coperti/civici_non_coperti_300mbps_2028.csv") as fh:
        civici = [r for r in csv.DictReader(fh) if r["com_istat_code"] == code]
    with open(shared_data / "istat_population_comuni/pop_age_sex_comuni_2023.csv") as fh:
        population = sum(int(r["pop_tot"]) for r in csv.DictReader(fh) if r["com_istat_code"] == code)
    households = int(agcom["Famiglie Residenti (calcolato)"])
    ftth = int(agcom["Famiglie raggiunte FTTH (calcolato)"] or 0)
    return {
        "households": households,
        "households_ftth": ftth,
        "ftth_share": ftth / households,
        "population": population,
        "population_with_ftth": round(population * ftth / households),
        "civici_c": sum(r["caratteristica"] == "C" for r in civici) if civici else None,
        "civici_unserved": len(civici) if civici else None,  # absent from the list: unknown, not zero
        "civici_per_1000": len(civici) * 1000 / population if civici else None,
        "fttc_present": int(agcom["Celle 20m x 20m raggiunte FTTC"]) > 0,
    }


@pytest.mark.parametrize("code", ["016001", "016024", "017029", "019036", "020030", "016088"])
def test_hand_computed_figures(analysed, shared_data, code):
    store, run = analysed
    expected = _source_figures(shared_data, code)
    row = _frame(
        store,
        "SELECT * FROM out.coverage_comune WHERE run_id = :r AND pro_com_t = :c AND ref_date = '2025-06-30'",
        r=run,
        c=code,
    ).iloc[0]
    for key, value in expected.items():
        if value is None:
            assert pd.isna(row[key]), key
        else:
            assert row[key] == pytest.approx(value), key
    assert row["gap_class"] == _expected_class(expected)


def _expected_class(figures):
    """The gap class by the reference table's rule, computed here from the rows of the table."""
    if figures["civici_per_1000"] is None:
        return "unknown"
    for cls in gap_classes().classes:
        if figures["ftth_share"] >= cls.ftth_share_min and figures["civici_per_1000"] <= cls.civici_per_1000_max:
            return cls.name
    raise AssertionError("the last class takes every municipality")


def _class_of(conn, classes, share, per_1000):
    statement = (
        f"SELECT {coverage.gap_class_sql()} FROM (SELECT CAST(:s AS float8) AS ftth_share, "
        "CAST(:c AS float8) AS civici_per_1000) row"
    )
    return conn.execute(text(statement), {"s": share, "c": per_1000, **coverage.class_parameters(classes)}).scalar()


shares = st.floats(min_value=0, max_value=1, allow_nan=False)
densities = st.floats(min_value=0, max_value=5_000, allow_nan=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shares, shares, densities, densities)
def test_classes_are_monotone_in_both_inputs(analysed, s1, s2, c1, c2):
    """More FTTH never worsens the class, more listed civic numbers never improve it (the SQL rule itself)."""
    store, _ = analysed
    classes = gap_classes()
    (s_low, s_high), (c_low, c_high) = sorted((s1, s2)), sorted((c1, c2))
    with store.engine.connect() as conn:
        worse = classes.names.index(_class_of(conn, classes, s_low, c_high))
        better = classes.names.index(_class_of(conn, classes, s_high, c_low))
        assert better <= worse
        assert _class_of(conn, classes, None, c_low) == "unknown"


def test_classes_discriminate_and_unknowns_are_named(analysed):
    store, run = analysed
    rows = _frame(
        store,
        "SELECT pro_com_t, gap_class, anomalies FROM out.coverage_comune WHERE run_id = :r AND ref_date = '2025-06-30'",
        r=run,
    ).set_index("pro_com_t")
    shares = rows["gap_class"].value_counts(normalize=True)
    assert shares.max() < 0.6 and len(shares) >= 5, shares
    expected = {
        "016088": "missing_infratel",  # Credaro
        "017083": "missing_infratel",  # Incudine
        "016125": "persons_per_household_high",  # Lenna: 1 AGCOM household for 554 residents
        "017139": "persons_per_household_high",  # Pertica Alta
        "017064": "persons_per_household_high",  # Corzano
        "020051": "persons_per_household_high",  # Rodigo
    }
    for code, anomaly in expected.items():
        assert rows.loc[code, "gap_class"] == "unknown", code
        assert anomaly in rows.loc[code, "anomalies"].split(";"), code
    decreasing = rows["anomalies"].fillna("").str.contains("ftth_decrease")
    assert decreasing.sum() == 29 and (rows.loc[decreasing, "gap_class"] != "unknown").all()


@pytest.mark.parametrize(
    "rows",
    [
        [("a", "0.9", "10"), ("b", "0.95", "50"), ("c", "0", "")],  # stricter FTTH floor after a looser one
        [("a", "0.9", "10"), ("b", "0.5", "5"), ("c", "0", "")],  # stricter ceiling after a looser one
        [("a", "0.9", "10"), ("b", "0.9", "10"), ("c", "0", "")],  # overlapping classes
        [("a", "0.9", "10"), ("b", "0.5", "50")],  # no catch-all
        [("a", "1.5", "10"), ("c", "0", "")],  # share out of range
    ],
)
def test_bad_class_tables_are_refused_naming_the_row_and_nothing_is_stored(analysed, monkeypatch, rows):
    store, _ = analysed
    table = [
        {"version": "x", "class": c, "label_it": c, "ftth_share_min": f, "civici_per_1000_max": m} for c, f, m in rows
    ]
    with pytest.raises(ReferenceTableError, match=r"row \d|the last class") as caught:
        validate_gap_classes(table)
    assert "gap_classes.csv" in str(caught.value)
    before = _frame(store, "SELECT count(*) AS n FROM out.analysis_run")["n"].item()
    monkeypatch.setattr("geo.reference.read_rows", lambda name: table if name == "gap_classes" else read_rows(name))
    gap_classes.cache_clear()
    try:
        with pytest.raises(ReferenceTableError):
            coverage.analyze(store.engine)
    finally:
        gap_classes.cache_clear()
    assert _frame(store, "SELECT count(*) AS n FROM out.analysis_run")["n"].item() == before


def test_area_shares_equal_agcom_own_figures(analysed, shared_data):
    """Province and area shares of the served collection's view equal the sums of AGCOM's own rows, both dates."""
    store, run = analysed
    served = _frame(store, "SELECT * FROM out.coverage_area_features WHERE run_id = :r", r=run)
    assert sorted(served["territory"].unique()) == ["016", "017", "019", "020", "area"]
    for name, when in (
        ("Reportistica_250331_Comuni.csv", "2025-03-31"),
        ("Reportistica_250630_Comuni.csv", "2025-06-30"),
    ):
        with open(shared_data / "agcom_rete_cablata_comuni/original" / name, encoding="utf-8-sig") as fh:
            rows = [r for r in csv.DictReader(fh) if str(r["pro_com"]).zfill(6)[:3] in ("016", "017", "019", "020")]
        totals: dict[str, list[int]] = {}
        for r in rows:
            for key in (str(r["pro_com"]).zfill(6)[:3], "area"):
                pair = totals.setdefault(key, [0, 0])
                pair[0] += int(r["Famiglie raggiunte FTTH (calcolato)"] or 0)
                pair[1] += int(r["Famiglie Residenti (calcolato)"])
        day = served[served["ref_date"].astype(str) == when].set_index("territory")
        for territory, (ftth, households) in totals.items():
            assert day.loc[territory, "households"] == households
            assert day.loc[territory, "ftth_share"] == pytest.approx(ftth / households, abs=1e-12)
    later = served[served["ref_date"].astype(str) == "2025-06-30"]
    assert later["households_newly_reached"].notna().all() and served["geom"].notna().all()


@pytest.mark.parametrize("code", ["016024", "019036", "020030"])  # Bergamo, Cremona, Mantova (negative pace)
def test_outlook_equals_a_hand_computation(analysed, shared_data, code):
    store, run = analysed
    figures = {}
    for name, when in (
        ("Reportistica_250331_Comuni.csv", dt.date(2025, 3, 31)),
        ("Reportistica_250630_Comuni.csv", dt.date(2025, 6, 30)),
    ):
        with open(shared_data / "agcom_rete_cablata_comuni/original" / name, encoding="utf-8-sig") as fh:
            row = next(r for r in csv.DictReader(fh) if r["pro_com"] == str(int(code)))
        figures[when] = (int(row["Famiglie raggiunte FTTH (calcolato)"]), int(row["Famiglie Residenti (calcolato)"]))
    (d0, (f0, _)), (d1, (f1, households)) = sorted(figures.items())
    pace = (f1 - f0) / ((d1 - d0).days / 365.25)
    horizon = (dt.date(2030, 12, 31) - d1).days / 365.25
    share_2030 = min(households, f1 + max(pace, 0) * horizon) / households
    row = _frame(
        store,
        "SELECT * FROM out.coverage_comune WHERE run_id = :r AND pro_com_t = :c AND ref_date = :d",
        r=run, c=code, d=d1,
    ).iloc[0]  # fmt: skip
    assert row["pace_households_per_year"] == pytest.approx(pace)
    assert row["ftth_share_2030"] == pytest.approx(share_2030)
    assert "base debole" in row["outlook_note"]
    if pace > 0:
        full = d1 + dt.timedelta(days=math.ceil((households - f1) / pace * 365.25))
        assert row["full_ftth_year"] == full.year and row["reaches_2030_target"] == (full.year <= 2030)
    else:
        assert pd.isna(row["full_ftth_year"]) and "ritmo negativo" in row["outlook_note"]
        assert "ftth_decrease" in row["anomalies"]


def test_every_row_has_an_outlook(analysed):
    store, run = analysed
    for table in ("out.coverage_comune", "out.coverage_area"):
        rows = _frame(store, f"SELECT * FROM {table} WHERE run_id = :r", r=run)
        assert rows.loc[rows["households"] > 0, "ftth_share_2030"].notna().all(), table
        assert rows["outlook_note"].notna().all()


def test_census_grid_population_matches_istat(analysed):
    """The Census 2021 grid, split by area, gives each municipality about its ISTAT 2023 population."""
    store, run = analysed
    rows = _frame(
        store,
        "SELECT population, census_population FROM out.coverage_comune WHERE run_id = :r AND ref_date = '2025-06-30'",
        r=run,
    )
    assert rows["census_population"].notna().mean() > 0.98
    assert rows["census_population"].sum() == pytest.approx(rows["population"].sum(), rel=0.01)
    assert rows["population"].corr(rows["census_population"]) > 0.99


def test_reruns_give_identical_results_and_record_their_inputs(analysed):
    store, first = analysed
    second = coverage.analyze(store.engine).id
    digest = (
        "SELECT md5(string_agg(row(pro_com_t, ref_date, households_ftth, ftth_share, population_with_ftth, "
        "civici_unserved, gap_class)::text, ',' ORDER BY pro_com_t, ref_date)) "
        "FROM out.coverage_comune WHERE run_id = :r"
    )
    with store.engine.connect() as conn:
        assert conn.execute(text(digest), {"r": first}).scalar() == conn.execute(text(digest), {"r": second}).scalar()
        record = conn.execute(text("SELECT * FROM out.analysis_run WHERE id = :r"), {"r": second}).mappings().one()
        agcom_runs = (
            conn.execute(text("SELECT DISTINCT ingest_run_id FROM cov.agcom_comune ORDER BY 1")).scalars().all()
        )
        assert runs.latest_run(conn, "coverage") >= second
    assert record["status"] == "succeeded"
    assert record["ingest_runs"]["cov.agcom_comune"] == agcom_runs
    assert record["reference_versions"] == {
        "speed_thresholds": "2025-11",
        "coverage_rules": "2026-11",
        "gap_classes": "2026-11",
        "school_levels": "2026-12",
    }
    assert set(coverage.STEPS[:-1]) == set(record["timings"])  # no grids loaded: no grid step


def test_school_connectivity(analysed):
    store, run = analysed
    schools = _frame(
        store,
        "SELECT c.*, s.strada_norm, s.civico_norm, i.strada_norm AS listed_street, i.civico_norm AS listed_number "
        "FROM out.school_connectivity c JOIN school.scuola s USING (codicescuola) "
        "LEFT JOIN cov.infratel_civico i ON i.id = c.infratel_id WHERE c.run_id = :r",
        r=run,
    )
    assert len(schools) == 2395 + 785
    matched = schools[schools["match_status"] == "matched"]
    assert (
        len(matched) > 0 and matched["gap"].all() and not schools.loc[schools["match_status"] != "matched", "gap"].any()
    )
    exact = matched["listed_street"] == matched["strada_norm"]
    wildcard = matched["listed_street"].str.contains("?", regex=False)
    assert (exact | wildcard).all()
    assert (matched["listed_number"] == matched["civico_norm"]).all()
    assert (
        (schools["match_status"] == "no_civic_number")
        .eq(schools["civico_norm"].isna() & schools["strada_norm"].notna())
        .all()
    )
    assert schools["municipality_ftth_share"].between(0, 1).all()
    summary = _frame(store, "SELECT * FROM out.school_gap_summary WHERE run_id = :r", r=run)
    area = summary[summary["level"] == "area"].set_index("livello")[["schools", "schools_with_gap"]]
    provinces = summary[summary["level"] == "province"].groupby("livello")[["schools", "schools_with_gap"]].sum()
    assert area.sort_index().equals(provinces.sort_index())
    assert area["schools_with_gap"].sum() == len(matched)
    status = schools["status"].value_counts()
    assert set(status.index) == {"gap", "not_listed", "unknown"} and status["gap"] == len(matched)
    assert (schools.loc[schools["match_status"] == "number_not_listed", "status"] == "not_listed").all()
    assert set(schools.loc[matched.index, "match_confidence"]) <= {"high", "medium"}
    assert (schools.loc[schools["status"] == "unknown", "match_confidence"] == "none").all()
    served = _frame(store, "SELECT count(*) AS n FROM out.school_connectivity_features WHERE run_id = :r", r=run)
    assert served["n"].item() == 3180


def test_empty_denominators_give_null_shares(store, tmp_path):
    from geo.ingest import agcom, boundaries, population

    boundaries.ingest(store.engine, boundaries.from_geopop(2023), ("016",), 32632)
    pop = tmp_path / "pop_2023.csv"
    pop.write_text("com_istat_code,age,pop_f,pop_m,pop_tot\n016024,0,0,0,0\n016001,0,5,5,10\n")
    population.ingest(store.engine, population.open_population(str(pop), 2023), ("016",))
    table = tmp_path / "Reportistica_250630_Comuni.csv"
    table.write_text(
        'Regione,pro_com,"Celle 20m x 20m raggiunte",Celle 20m x 20m raggiunte FTTH,'
        "Famiglie Residenti (calcolato),Famiglie raggiunte FTTH (calcolato)\nL,16024,0,0,0,0\nL,16001,5,5,4,2\n"
    )
    agcom.ingest(store.engine, agcom.read(table), ("016",))
    run = coverage.analyze(store.engine).id
    rows = _frame(store, "SELECT * FROM out.coverage_comune WHERE run_id = :r ORDER BY pro_com_t", r=run)
    empty, adrara = rows.set_index("pro_com_t").loc["016024"], rows.set_index("pro_com_t").loc["016001"]
    assert pd.isna(empty["ftth_share"]) and pd.isna(empty["civici_per_1000"])
    assert empty["population_with_ftth"] is None or pd.isna(empty["population_with_ftth"])
    assert adrara["ftth_share"] == 0.5 and adrara["population_with_ftth"] == 5


def test_analysis_without_inputs_says_what_is_missing(store):
    with pytest.raises(runs.AnalysisError, match="needs population and AGCOM data"):
        coverage.analyze(store.engine)


def test_population_weighted_coverage_from_grids(store, tmp_path):
    """Population grid of 100 per km² over Cremona; coverage grid 1 west of a meridian line, 0 east of it."""
    import geopandas as gpd
    import numpy as np
    import rasterio

    from geo.ingest import agcom, boundaries, population, rasters
    from tests.raster_fixture import write_constant

    boundaries.ingest(store.engine, boundaries.from_geopop(2023), ("019",), 32632)
    population.ingest(store.engine, population.from_geopop(2023), ("019",))
    table = tmp_path / "Reportistica_250630_Comuni.csv"
    table.write_text(
        "pro_com,Celle 20m x 20m raggiunte FTTH,Famiglie Residenti (calcolato),Famiglie raggiunte FTTH (calcolato)\n"
        "19036,1,10,5\n"
    )
    agcom.ingest(store.engine, agcom.read(table), ("019",))
    with store.engine.connect() as conn:
        comuni = gpd.read_postgis(text("SELECT pro_com_t, geom FROM ref.comune"), conn, geom_col="geom").to_crs(3035)
    west, south, east, north = comuni.total_bounds
    bounds = (west - 3000, south - 3000, east + 3000, north + 3000)
    people = write_constant(tmp_path / "people.tif", bounds, 1000.0, 100.0, 3035)
    cover = write_constant(tmp_path / "cover.tif", bounds, 1000.0, 1.0, 3035)
    with rasterio.open(cover, "r+") as dst:
        data = dst.read(1)
        split = data.shape[1] // 2
        data[:, split:] = 0.0
        dst.write(data, 1)
        line = dst.transform.c + split * dst.transform.a
    rasters.ingest(store.engine, rasters.read(people))
    rasters.ingest(store.engine, rasters.read(cover, kind="coverage"))
    run = coverage.analyze(store.engine)
    grid = _frame(store, "SELECT * FROM out.grid_coverage WHERE run_id = :r", r=run.id).set_index("pro_com_t")
    assert len(grid) == len(comuni)
    assert np.allclose(grid["population_covered"] + grid["population_uncovered"], grid["population"])
    bounds_by_code = comuni.set_index("pro_com_t").bounds
    wholly_west = bounds_by_code.index[bounds_by_code["maxx"] < line]
    wholly_east = bounds_by_code.index[bounds_by_code["minx"] > line]
    assert len(wholly_west) and len(wholly_east)
    assert np.allclose(grid.loc[wholly_west, "covered_share"], 1.0)
    assert np.allclose(grid.loc[wholly_east, "covered_share"], 0.0)
    expected = comuni.set_index("pro_com_t").area / 1e6 * 100.0
    assert np.allclose(grid["population"], expected.loc[grid.index], rtol=1e-5)
    assert "grid_coverage" in run.timings
