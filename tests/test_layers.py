"""The broadband and school layers loaded from the publishers' files in ../shared/data, checked against them."""

import gzip
import io

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import text

from geo.ingest.catalog import ingest_all
from geo.models import AGCOM_COUNTS


def _query(store, sql, **params):
    with store.engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def test_ingest_all_loads_originals_once_and_skips_derived_copies(layers):
    _, outcomes = layers
    assert not [o for o in outcomes if o.failed]
    loaded = sorted(o.layer for o in outcomes if o.result is not None)
    assert loaded == sorted(
        [
            "boundaries",
            "population",
            "settlements",
            "geocoded_schools",
            "schools:statale",
            "schools:paritaria",
            "agcom:2025-03-31",
            "agcom:2025-06-30",
            "infratel",
            "popgrid",
            "ookla:province",
            "ookla:municipality",
            "ookla:region",
            "roads",
        ]
    )
    skipped = [o.source for o in outcomes if o.note and "derived copy" in o.note]
    assert sorted(s.rsplit("/", 1)[-1] for s in skipped) == [
        "agcom_consistenze_rete_cablata_comuni_2025.csv",
        "scuole_paritarie_2023_24.csv",
        "scuole_statali_2025_26.csv",
    ]
    assert any(o.layer == "school_buildings" and o.note == "no file found" for o in outcomes)
    roads = next(o for o in outcomes if o.layer == "roads")
    assert roads.source.startswith("SYNTHETIC")


def test_census_grid_and_ookla_speeds(layers, shared_data):
    """The grid's cells keep their census counts and square shape; Ookla speeds keep their values and licence."""
    store, outcomes = layers
    grid = next(o for o in outcomes if o.layer == "popgrid").result
    assert grid.rows_read == 8177 and grid.reference_date.isoformat() == "2021-01-01"
    cells = _query(
        store,
        "SELECT count(*) AS n, sum(population) AS people, min(ST_Area(geom)) AS small, max(ST_Area(geom)) AS big, "
        "bool_and(ST_NPoints(geom) = 5) AS squares FROM ref.popgrid_cell",
    ).iloc[0]
    source = pd.read_csv(shared_data / "popgrid_census2021_1km" / "census2021_grid1km_area_vasta.csv")
    assert cells["n"] == len(source) and cells["people"] == source["T"].sum()
    assert 0.99e6 < cells["small"] <= cells["big"] < 1.01e6 and cells["squares"]
    parts = _query(store, "SELECT pro_com_t, sum(population) AS people FROM ref.popgrid_part GROUP BY 1")
    assert len(parts) == 625 and parts["people"].sum() == pytest.approx(
        (source["T"] * source["share_in_area"]).sum(), rel=0.002
    )
    speeds = _query(store, "SELECT * FROM cov.ookla_speed WHERE level = 'province' AND code = '016' ORDER BY quarter")
    original = pd.read_csv(shared_data / "ookla_fixed_speed_edjnet" / "ookla_fixed_nuts3_area_vasta.csv", dtype=str)
    bergamo = original[original["prov_istat_code"] == "016"].sort_values("quarter")
    assert speeds["avg_down_mbps"].tolist() == bergamo["avg_d"].astype(float).tolist()
    ookla = next(o for o in outcomes if o.layer == "ookla:province").result
    assert "CC BY-NC-SA" in ookla.details["licence"]


def test_every_municipality_has_agcom_rows_for_both_dates(layers):
    store, _ = layers
    counts = _query(
        store,
        "SELECT c.pro_com_t, count(a.ref_date) AS n FROM ref.comune c "
        "LEFT JOIN cov.agcom_comune a USING (pro_com_t) GROUP BY 1",
    )
    assert len(counts) == 625 and (counts["n"] == 2).all()


def test_agcom_values_equal_the_derived_table(layers, shared_data):
    store, _ = layers
    derived = pd.read_csv(
        shared_data / "agcom_rete_cablata_comuni" / "agcom_consistenze_rete_cablata_comuni_2025.csv",
        dtype={"com_istat_code": str},
    )
    derived["ref_date"] = pd.to_datetime(derived["data_rilevazione"]).dt.date
    loaded = _query(store, "SELECT * FROM cov.agcom_comune")
    merged = derived.merge(loaded, left_on=["com_istat_code", "ref_date"], right_on=["pro_com_t", "ref_date"])
    assert len(merged) == len(derived) == 1250
    for column in AGCOM_COUNTS:
        # the derived copy leaves blanks where no FTTH cell is reached; the store reads them as 0
        expected = merged[f"{column}_x"].fillna(0).astype(int)
        assert (expected == merged[f"{column}_y"].astype(int)).all(), column
    assert (merged["famiglie_raggiunte_ftth_y"] <= merged["famiglie_residenti_y"]).all()


def test_infratel_rows_match_the_file_and_its_per_municipality_counts(layers, shared_data):
    store, _ = layers
    folder = shared_data / "infratel_mappatura2025_civici_non_coperti"
    source = pd.read_csv(folder / "civici_non_coperti_300mbps_2028.csv", dtype=str, keep_default_na=False)
    per_comune = pd.read_csv(folder / "civici_non_coperti_per_comune.csv", dtype={"com_istat_code": str})
    loaded = _query(
        store,
        "SELECT pro_com_t, caratteristica, count(*) AS n FROM cov.infratel_civico GROUP BY 1, 2",
    ).pivot_table(index="pro_com_t", columns="caratteristica", values="n", fill_value=0)
    assert int(loaded.to_numpy().sum()) == len(source) == 102_345
    expected = per_comune.set_index("com_istat_code")[["n_civici_A", "n_civici_B", "n_civici_C"]]
    expected.columns = ["A", "B", "C"]
    expected = expected[expected.sum(axis=1) > 0]
    assert loaded.sort_index().equals(expected.sort_index().astype(loaded.dtypes.iloc[0]))


def test_infratel_duplicates_are_kept_and_point_to_their_first_row(layers):
    store, _ = layers
    dupes = _query(
        store,
        "SELECT d.id, d.duplicate_of, d.pro_com_t = f.pro_com_t AND d.strada_norm = f.strada_norm "
        "AND d.civico_norm = f.civico_norm AS same, f.duplicate_of IS NULL AS first_is_original "
        "FROM cov.infratel_civico d JOIN cov.infratel_civico f ON f.id = d.duplicate_of",
    )
    assert len(dupes) > 0
    assert dupes["same"].all() and dupes["first_is_original"].all() and (dupes["duplicate_of"] < dupes["id"]).all()
    details = _query(store, "SELECT details FROM meta.ingest_run WHERE layer = 'infratel'")["details"].iloc[0]
    assert details["exact_duplicates_in_source"] == 67
    assert details["duplicates_kept"] == len(dupes)


def test_schools_map_to_the_same_istat_codes_as_the_reference_mapping(layers, shared_data):
    store, _ = layers
    loaded = _query(store, "SELECT codicescuola, gestione, pro_com_t FROM school.scuola")
    assert loaded.groupby("gestione").size().to_dict() == {"statale": 2395, "paritaria": 785}
    for name in ("scuole_statali_2025_26.csv", "scuole_paritarie_2023_24.csv"):
        derived = pd.read_csv(shared_data / "miur_scuole" / name, dtype=str)
        merged = derived.merge(loaded, left_on="CODICESCUOLA", right_on="codicescuola")
        assert len(merged) == len(derived)
        assert (merged["com_istat_code"] == merged["pro_com_t"]).all()


def test_geocoded_kindergartens_keep_their_coordinates(layers, shared_data):
    store, _ = layers
    points = gpd.read_file(shared_data / "scuole_infanzia_geocodificate_napo" / "scuole_infanzia_geocodificate.geojson")
    located = _query(
        store,
        "SELECT codicescuola, geocode_method, ST_X(ST_Transform(geom, 4326)) AS lon, "
        "ST_Y(ST_Transform(geom, 4326)) AS lat FROM school.scuola_located",
    )
    merged = points.merge(located, left_on="CODICESCUOLA", right_on="codicescuola")
    assert len(merged) == 474 + 563  # state kindergartens still in the 2025/26 registry, and all paritarie
    assert (merged["geocode_method"] == "geocoded_address").all()
    assert ((merged["lon_x"] - merged["lon_y"]).abs() < 1e-7).all()
    assert ((merged["lat_x"] - merged["lat_y"]).abs() < 1e-7).all()


def test_fallback_locations_are_marked_and_inside_their_municipality(layers):
    store, _ = layers
    rows = _query(
        store,
        "SELECT s.geocode_method, s.geocode_quality, ST_DWithin(s.geom, c.geom, 5) AS inside "
        "FROM school.scuola_located s JOIN ref.comune c USING (pro_com_t) WHERE s.geocode_method <> 'geocoded_address'",
    )
    assert len(rows) == 3180 - 474 - 563
    assert set(rows["geocode_quality"]) <= {"settlement", "municipality"}
    assert rows["inside"].all()


def test_layers_reload_unchanged(layers, shared_data):
    store, _ = layers
    again = ingest_all(store.engine, store.settings, shared_data, show_progress=False, synthesise_roads=True)
    assert {o.result.status for o in again if o.result is not None} == {"unchanged"}


def test_agcom_in_semicolon_cp1252_with_decimal_commas_reads_the_same(layers, shared_data, tmp_path):
    from geo.ingest import agcom

    original = shared_data / "agcom_rete_cablata_comuni" / "original" / "Reportistica_250630_Comuni.csv"
    frame = pd.read_csv(original, dtype=str, keep_default_na=False)
    frame.columns = [c.replace("Famiglie Residenti", "Famiglie Residènti") for c in frame.columns]
    counts = frame.columns[4:]
    frame[counts] = frame[counts].map(lambda v: f"{int(v):,}".replace(",", ".") if v else "")
    italian = tmp_path / "Reportistica_250630_Comuni.csv"
    italian.write_bytes(frame.to_csv(sep=";", index=False).encode("cp1252"))
    store, _ = layers
    table = agcom.read(italian)
    assert (table.decimal, table.ref_dates) == (",", [pd.Timestamp("2025-06-30").date()])
    result = agcom.ingest(store.engine, table, store.settings.provinces)
    assert result.status == "unchanged"


def test_gzip_csv_is_read(tmp_path, shared_data):
    from geo.ingest import schools

    original = shared_data / "miur_scuole" / "original" / "SCUANAGRAFEPAR20232420230901.csv"
    packed = tmp_path / "SCUANAGRAFEPAR20232420230901.csv.gz"
    packed.write_bytes(gzip.compress(original.read_bytes()))
    assert len(schools.read(packed).rows) == len(pd.read_csv(io.BytesIO(original.read_bytes())))
