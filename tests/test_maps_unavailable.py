"""A map with no data is an Italian page for the planner: why, which layers are missing and the commands that add
them, with a 404 status; never a raw JSON error nor an empty map."""

import httpx

from tests.served import PAGE_S, serving


def test_maps_of_an_empty_store_say_what_to_load(store):
    with serving(store.settings.database_url) as base:
        for path in ("/maps/coverage", "/maps/schools", "/maps/priorities"):
            response = httpx.get(base + path, headers={"Accept": "text/html"}, timeout=PAGE_S)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("text/html")
            page = response.text
            assert '<html lang="it">' in page and "Mappa non disponibile" in page
            assert "Confini comunali e provinciali (ISTAT)" in page  # the missing layers, by name
            assert "AREAVASTA_SOURCES_DIR=" in page and "areavasta fetch" in page  # the two ways on
            assert "areavasta analyze" in page
        # unknown run: its own reason
        page = httpx.get(base + "/maps/priorities?run=7", timeout=PAGE_S).text
        assert "Non esiste la graduatoria n. 7" in page


def test_the_page_lists_only_what_is_still_missing(area_vasta):
    """Boundaries and population loaded (the offline ones), nothing else."""
    with serving(area_vasta.settings.database_url) as base:
        page = httpx.get(base + "/maps/coverage", timeout=PAGE_S).text
    assert "Confini comunali" not in page and "Popolazione residente" not in page
    assert "Famiglie raggiunte dalla rete fissa per comune (AGCOM Broadband Map)" in page
    assert "Manca l&#39;analisi della copertura" in page or "Manca l'analisi della copertura" in page
