"""The layer registry: every record well formed, light to import, and the README's table of layers written from it."""

import subprocess
import sys
from pathlib import Path

import pytest

from geo.ingest import layers
from geo.ingest.layers import LAYERS, Header, Layer, register, registered, resolve, unregister
from geo.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_table_is_the_registrys():
    readme = (REPO / "README.md").read_text()
    assert layers.readme_table() in readme
    section = readme[readme.index("### Layers and their sources") :]
    rows = [line for line in section.split("\n\n")[1].splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in rows[1:]] == list(LAYERS)


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_record_is_well_formed(name):
    layer = LAYERS[name]
    for hook in (layer.load, layer.bundled, layer.dataset):
        assert hook is None or callable(resolve(hook)), hook
    assert set(layer.provenance) <= set(layer.tables)
    fields = Settings.model_fields
    assert all(download.setting in fields for download in layer.downloads)
    assert layer.offline or layer.load is not None  # a layer is loaded from the package or from files


def test_the_load_order_puts_the_offline_layers_first():
    names = list(LAYERS)
    assert names[:2] == ["boundaries", "population"]
    assert [LAYERS[n].order for n in names] == sorted(LAYERS[n].order for n in names)


def test_names_and_headers_are_recognised_as_declared():
    assert LAYERS["agcom"].key_from_name("Reportistica_250630_Comuni.csv.gz") == "agcom:2025-06-30"
    assert LAYERS["agcom"].key_from_name("Reportistica_259999_Comuni.csv") is None  # no date: not the official name
    assert LAYERS["schools"].key_from_name("scuanagrafepar20232420230901.csv") == "schools:paritaria"
    assert LAYERS["raster"].key_from_name("ghs_pop.TIF") == "raster:ghs_pop"
    assert LAYERS["boundaries"].key_from_name("Limiti01012023_g.zip") == "boundaries"
    assert LAYERS["boundaries"].key_from_name("Limiti01012023.txt") is None
    ookla = LAYERS["ookla"].header
    assert ookla is not None and ookla.dataset({"quarter", "avgd", "avgu", "comistatcode"}) == "municipality"
    assert ookla.dataset({"quarter", "avgd", "avgu"}) is None


def test_registration_is_refused_twice_and_undone():
    toy = Layer("toy_probe", order=95, tables=("ref.toy",), needs="a toy", load=lambda *_: None, header=Header("table"))
    with pytest.raises(ValueError, match="already registered"):
        register(LAYERS["agcom"])
    with registered(toy):
        assert list(LAYERS).index("toy_probe") == list(LAYERS).index("ookla") + 1
    assert "toy_probe" not in LAYERS
    register(toy)
    assert unregister("toy_probe") is toy and "toy_probe" not in LAYERS


def test_the_registry_imports_no_heavy_library():
    probe = "import sys, geo.ingest.layers; print(' '.join(m for m in ('pandas', 'geopandas', 'pyogrio', "
    probe += "'sqlalchemy', 'pydantic_settings') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == ""
