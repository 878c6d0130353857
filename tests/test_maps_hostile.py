"""Names from the data never run as script: markup and template syntax in municipality and target names render as
text in Chromium (loading, hovering and clicking), and every map page carries a Content-Security-Policy that allows
only its own scripts, without stopping any of them."""

import httpx
import pytest
from sqlalchemy import text

from geo.analysis import coverage
from geo.ingest import agcom
from geo.ingest.pipeline import municipality_policy
from maps.page import content_security_policy
from tests.conftest import fresh_store
from tests.served import PAGE_S, require_chromium, serving

TEMPLATE = "{{ cycler.__name__ }} {#"  # run on the server, it would show "Cycler"; "{#" would break the page
LITERAL = "${window.__xss=3} \\`"  # in a script's template literal: code, and a quote folium's escape misses
PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>' + TEMPLATE + LITERAL
FAKE_RUN = """
WITH run AS (
    INSERT INTO out.analysis_run (kind, parameters, reference_versions, ingest_runs, status, summary)
    VALUES ('priorities', '{"name": "default"}', '{}', '{}', 'succeeded', '{}') RETURNING id
)
INSERT INTO out.priority_item (
    run_id, target_id, rank, kind, name, pro_com_t, cod_uts, population, households, civici,
    schools, benefit, selected, reason, geom, scenario, location, roads_status, sources_status, coverage_run_id,
    cells, geotype, school_weight, distribution_eur, drops_eur, capex_low_eur, capex_eur, capex_high_eur
)
SELECT run.id, 'civici:016024:1', 1, 'civic_cluster', :name, '016024', '016', 10, 4, 4, 0, 10, true,
       :name, ST_PointOnSurface(c.geom), 'default', 'modelled', 'synthetic', 'proxy', :coverage, 1, 'urban', 250,
       1000, 2000, 2000, 3000, 5000
FROM run, ref.comune c WHERE c.pro_com_t = '016024'
"""


@pytest.fixture(scope="module")
def hostile(server, area_vasta_template, shared_data):
    """A store whose Bergamo and whose only priority target carry script in their names, served on loopback."""
    require_chromium()
    with fresh_store(server, area_vasta_template) as store:
        engine, settings = store.engine, store.settings
        for path in sorted((shared_data / "agcom_rete_cablata_comuni" / "original").glob("Reportistica_*.csv")):
            with municipality_policy("reject"):
                agcom.ingest(engine, agcom.read(path), settings.provinces)
        run = coverage.analyze(engine)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE ref.comune SET comune = 'Bergamo ' || :p WHERE pro_com_t = '016024'"), {"p": PAYLOAD}
            )
            conn.execute(
                text("UPDATE ref.province SET den_uts = 'Bergamo ' || :p WHERE cod_uts = '016'"), {"p": PAYLOAD}
            )
            conn.execute(text(FAKE_RUN), {"name": "Scuola " + PAYLOAD, "coverage": run.id})
        with serving(settings.database_url) as base:
            yield base


def _interact(page) -> None:
    """Hover and click Bergamo with the mouse where the map draws it, as a planner would; elsewhere open every
    tooltip and popup of the map."""
    point = page.evaluate(
        """() => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            let bergamo = null;
            map.eachLayer(l => { if (l.feature && l.feature.id === '016024' && l.getBounds) bergamo = l; });
            if (!bergamo) {
                map.eachLayer(l => {
                    if (l.openTooltip && l.getTooltip && l.getTooltip()) { try { l.openTooltip(); } catch (e) {} }
                    if (l.openPopup && l.getPopup && l.getPopup()) { try { l.openPopup(); } catch (e) {} }
                });
                return null;
            }
            const p = map.latLngToContainerPoint(bergamo.getBounds().getCenter());
            const box = map.getContainer().getBoundingClientRect();
            return {x: box.left + p.x, y: box.top + p.y};
        }"""
    )
    if point is not None:
        page.mouse.move(point["x"], point["y"])
        page.wait_for_timeout(200)
        page.mouse.click(point["x"], point["y"])
    page.wait_for_timeout(300)


@pytest.mark.parametrize("path", ["/maps/coverage", "/maps/municipality/016024", "/maps/priorities"])
def test_script_in_names_renders_as_text(hostile, browser, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(hostile + path, wait_until="load")
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    page.wait_for_selector(".leaflet-interactive")
    _interact(page)
    assert page.evaluate("() => window.__xss") is None  # neither the handler nor the script ran
    shown = page.locator(".leaflet-control-layers, .leaflet-popup-pane, .leaflet-tooltip-pane").all_inner_texts()
    assert any(PAYLOAD in text for text in shown), shown  # the payload is there, as text
    assert violations == [] or all("__xss" not in v for v in violations)
    page.close()


def test_policy_lists_every_inline_script_and_the_tile_server():
    page = "<script src='/static/leaflet.js'></script><script>var a = 1;</script><script>var b = 2;</script>"
    policy = content_security_policy(page, "https://{s}.tile.example.org/{z}/{x}/{y}.png")
    assert policy.count("'sha256-") == 2 and "img-src 'self' data: https://*.tile.example.org" in policy
    assert "connect-src 'self'" in policy and "object-src 'none'" in policy


def test_normal_pages_run_under_their_policy(hostile, browser):
    """The policy stops nothing the page needs: no violation, features drawn, popups from the API still load."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(hostile + "/maps/coverage", wait_until="load")
    page.wait_for_selector("path.leaflet-interactive")
    assert page.locator("path.leaflet-interactive").count() >= 625
    assert violations == []
    policy = httpx.get(hostile + "/maps/coverage", timeout=PAGE_S).headers["content-security-policy"]
    assert policy.startswith("default-src 'self'")
    page.close()
