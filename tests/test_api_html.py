"""HTML views of the OGC resources: chosen by f=html or a browser's Accept header (JSON stays the default for
clients), Italian, escaped, with their map drawn by Chromium from local assets only."""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.served import require_chromium, serving

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def client(results):
    with TestClient(create_app(results.settings)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("path", "phrase"),
    [
        ("/", "Collezioni di dati"),
        ("/conformance", "Classi di conformità implementate"),
        ("/collections", "Copertura in banda ultralarga per comune"),
        ("/collections/schools", "Estensione (WGS 84)"),
        ("/collections/coverage/queryables", "Proprietà utilizzabili nei filtri"),
        ("/collections/coverage/items?limit=5", "Elementi 1–5 di 1.250."),
        ("/collections/municipalities/items/016024", "Bergamo"),
    ],
)
def test_every_resource_has_an_italian_page(client, path, phrase):
    page = client.get(path + ("&" if "?" in path else "?") + "f=html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="it">' in page.text and phrase in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "form-action 'self'" in policy and "frame-ancestors 'self'" in policy
    assert "<script>" not in page.text  # no inline script: only local files and JSON data blocks
    by_browser = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert by_browser.headers["content-type"].startswith("text/html")
    by_client = client.get(path, headers={"Accept": "application/geo+json, application/json"})
    assert "json" in by_client.headers["content-type"]
    assert "Accept" in by_client.headers["vary"].split(", ")


def test_pages_escape_and_format_values_the_italian_way(client):
    page = client.get("/collections/coverage/items", params={"f": "html", "limit": 3, "sortby": "-population"}).text
    assert "Elementi 1–3 di 1.250." in page
    assert "1.1" in page or "," in page  # Italian separators in the figures
    assert 'rel="next"' in page and "offset=3" in page
    missing = client.get("/collections/coverage/items/%3Cscript%3E?f=html")
    assert missing.status_code == 404 and "<script>" not in missing.text


def test_chromium_draws_the_page_map_from_local_assets(results):
    require_chromium()
    from playwright.sync_api import sync_playwright

    from maps.browser import CHROMIUM, CHROMIUM_FLAGS

    with serving(results.settings.database_url) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/collections/municipalities/items?f=html&limit=20&cod_uts=019")
        page.wait_for_selector("path.leaflet-interactive")
        drawn = page.locator("path.leaflet-interactive").count()
        rows = page.locator("tbody tr").count()
        page.goto(f"{base}/collections/schools?f=html")
        page.wait_for_selector("path.leaflet-interactive")
        # ids carrying markup (as a source could send them): a tooltip shows its id as text, the page gains no element
        hostile = "\\u003cb id=\\u0027planted\\u0027\\u003eid\\u003c/b\\u003e"  # as the page's JSON escapes it

        def plant(route) -> None:
            served = route.fetch()
            route.fulfill(response=served, body=served.text().replace('"id": "019', f'"id": "{hostile}019'))

        page.route("**/collections/municipalities/items?f=html*", plant)
        page.goto(f"{base}/collections/municipalities/items?f=html&limit=20&cod_uts=019")
        page.locator("path.leaflet-interactive").first.dispatch_event("mouseover")
        tip = page.locator(".leaflet-tooltip").inner_text()
        planted = page.locator("#planted").count()
        browser.close()
    assert drawn == rows == 20
    assert not outside and not errors
    assert tip.startswith("<b id='planted'>id</b>019") and planted == 0


def test_map_pages_refuse_what_they_cannot_show(client):
    for accept in (BROWSER_ACCEPT, "application/json"):  # a map page is a page, whoever asks
        page = client.get("/maps/priorities?run=999", headers={"Accept": accept})
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "Non esiste la graduatoria n. 999" in page.text and '<html lang="it">' in page.text
    wrong = client.get("/maps/schools", params={"level": "liceo"})
    assert wrong.status_code == 400 and "non è un livello scolastico" in wrong.json()["description"]
    junk = client.get("/maps/coverage", params={"x": "1"})
    assert junk.status_code == 400 and "accetta date, province" in junk.json()["description"]


def test_the_planners_page_says_what_is_loaded_and_what_is_missing(client, area_vasta):
    page = client.get("/maps/").text
    assert "Dati caricati" in page and "Reportistica_250630_Comuni.csv" in page and "30/06/2025" in page
    assert "102.345" in page  # Infratel civic numbers, Italian thousands
    assert "SINTETICO" in page  # the road network of the tests is synthetic, and says so
    assert "Dati mancanti" not in page
    with TestClient(create_app(area_vasta.settings)) as bare:
        empty = bare.get("/maps/").text  # boundaries and population only
    assert "Dati mancanti" in empty and "AGCOM Broadband Map" in empty.split("Dati mancanti")[1]
    assert "areavasta ingest all" in empty and "areavasta fetch" in empty
    assert "manca l'analisi" in empty or "manca l&#39;analisi" in empty
