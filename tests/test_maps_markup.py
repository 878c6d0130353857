"""Text from the data is never a template on the server: names carrying Jinja syntax reach the page as they are
(branca alone would run ``{{ … }}`` and fail on ``{#``), and pages without such text are what branca renders."""

import itertools
import json

import folium
import pytest
from branca.element import Element

from maps.markup import Markup, render_page

RAN = "{{ cycler.__name__ }}"  # run on the server, it shows "Cycler"
PAYLOADS = [
    RAN,
    "{{ cycler.__init__.__globals__.os.name }}",  # Python's os module reached from a name: "posix"
    "{% if true %}sì{% endif %}",
    "Bergamo {# nota",
    "{{ unclosed",
    "}} {% raw %} {#}",
]


def _map(name: str) -> folium.Map:
    """A map holding ``name`` in every place folium writes text: GeoJSON properties with their tooltip and popup,
    a popup of HTML, a tooltip, and markup of the page's own."""
    m = folium.Map(tiles=None)
    feature = {
        "type": "Feature",
        "properties": {"comune": name},
        "geometry": {"type": "Point", "coordinates": [9.67, 45.69]},
    }
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [feature]},
        tooltip=folium.GeoJsonTooltip(["comune"]),
        popup=folium.GeoJsonPopup(["comune"]),
    ).add_to(m)
    marker = folium.Marker([45.69, 9.67], tooltip=name)
    marker.add_child(folium.Popup(f"<b>{name}</b>"))
    marker.add_to(m)
    m.get_root().header.add_child(Markup(f"<title>{name}</title>"))
    return m


@pytest.mark.parametrize("name", PAYLOADS)
def test_jinja_syntax_in_names_reaches_the_page_as_it_is(name):
    page = render_page(_map(name).get_root())
    assert f"<title>{name}</title>" in page
    assert f"<b>{name}</b>" in page  # the popup's HTML
    assert json.dumps(name) in page  # the GeoJSON properties and the tooltip
    assert "Cycler" not in page and "posix" not in page and "sì" not in page.replace(name, "")


def test_branca_alone_would_run_the_name():
    """What render_page prevents (if branca stops doing this, render_page may go)."""
    assert "Cycler" in _map(RAN).get_root().render()


def test_pages_without_jinja_syntax_are_what_branca_renders(monkeypatch):
    def same_names() -> None:  # the same element names for both maps
        counter = itertools.count()
        monkeypatch.setattr(Element, "_generate_id", classmethod(lambda cls: f"{next(counter):032x}"))

    name = "Sant'Omobono Terme <b>&</b> {a: 1}"
    same_names()
    ours = render_page(_map(name).get_root())
    same_names()
    assert ours == _map(name).get_root().render()
