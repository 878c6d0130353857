import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from geo.reference import province_names
from geo.settings import AREA_VASTA_PROVINCES, Settings


def test_defaults_are_the_four_provinces_and_the_local_server(monkeypatch):
    for name in ("AREAVASTA_PROVINCES", "AREAVASTA_HOST", "AREAVASTA_PORT", "AREAVASTA_SOURCES_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.provinces == AREA_VASTA_PROVINCES == ("016", "017", "019", "020")
    assert (settings.host, settings.port, settings.working_crs) == ("127.0.0.1", 8000, 32632)
    assert str(settings.sources_dir) == "data/sources"


def test_environment_prefix(monkeypatch):
    monkeypatch.setenv("AREAVASTA_PROVINCES", "all")
    monkeypatch.setenv("AREAVASTA_PORT", "9001")
    monkeypatch.setenv("AREAVASTA_DATABASE_URL", "postgresql+psycopg://u:p@db/x")
    settings = Settings(_env_file=None)
    assert settings.provinces is None
    assert settings.port == 9001
    assert settings.database_url == "postgresql+psycopg://u:p@db/x"


KNOWN = sorted(int(code) for code in province_names())


@given(st.lists(st.sampled_from(KNOWN), min_size=1, max_size=10))
def test_province_lists_are_padded_sorted_and_unique(codes):
    settings = Settings(provinces=",".join(str(c) for c in codes), _env_file=None)
    assert settings.provinces == tuple(sorted({f"{c:03d}" for c in codes}))


@pytest.mark.parametrize("value", ["016,999", "000", "112", "105"])
def test_unknown_province_codes_are_refused_with_the_valid_ones(value):
    with pytest.raises(ValidationError, match=r"unknown ISTAT province code.*016 Bergamo.*provinces.csv|unknown"):
        Settings(provinces=value, _env_file=None)
    assert len(province_names()) == 107 and province_names()["019"] == "Cremona"


@pytest.mark.parametrize("value", ["", "16,x", "1234", " , "])
def test_bad_province_lists_are_refused(value):
    with pytest.raises(ValidationError, match="provinces"):
        Settings(provinces=value, _env_file=None)


def test_a_working_crs_the_schema_does_not_hold_is_refused_before_the_store_is_touched(monkeypatch, tmp_path):
    """With AREAVASTA_WORKING_CRS=3035 an ingest once stored Cremona at lon 18.5, lat 43.5: now the settings refuse
    it, so no command reaches the store."""
    import pydantic
    from typer.testing import CliRunner

    from geo.cli import app

    monkeypatch.setenv("AREAVASTA_WORKING_CRS", "3035")
    with pytest.raises(pydantic.ValidationError, match="working_crs must be 32632"):
        Settings(_env_file=None)
    monkeypatch.setenv("AREAVASTA_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["ingest", "all", "--sources", str(tmp_path)])
    assert result.exit_code != 0 and "working_crs must be 32632" in result.output
    assert not (tmp_path / "pg").exists()  # the managed store was never created
    monkeypatch.setenv("AREAVASTA_WORKING_CRS", "32632")
    assert Settings(_env_file=None).working_crs == 32632
