"""Place names on a map without a tile server: the OSM settlements as labels, each kind of place from the zoom a
reader expects it at (cities when the map opens on a province, villages when zoomed on a valley)."""

from __future__ import annotations

from typing import Any

import folium
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template
from sqlalchemy import Connection, text

from maps.display import Display
from maps.static import SHARED_SCRIPT

# the zoom from which each OSM kind of place is labelled: a display choice, not an analysis threshold
LABEL_FROM_ZOOM = {"city": 8, "town": 10, "village": 12, "suburb": 13, "hamlet": 14}
# on a map of thousands of municipalities (all of Italy) only the largest places travel with the page
NATIONAL_PLACES = ("city", "town")

LABELS_SQL = """
SELECT ST_Y(g), ST_X(g), name, place
FROM (SELECT name, place, ST_Transform(geom, 4326) AS g FROM ref.settlement
      WHERE place = ANY(:places)
        AND (CAST(:xmin AS float8) IS NULL
             OR geom && ST_SetSRID(ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax), CAST(:srid AS integer)))) s
ORDER BY array_position(CAST(:places AS text[]), place), name
"""


def settlement_rows(conn: Connection, display: Display, national: bool) -> list[list[Any]]:
    """[lat, lon, name, zoom from which it is labelled] of the settlements in the display's extent."""
    places = list(NATIONAL_PLACES if national else LABEL_FROM_ZOOM)
    rows = conn.execute(text(LABELS_SQL), display.params | {"places": places})
    return [[round(lat, 5), round(lon, 5), name, LABEL_FROM_ZOOM[place]] for lat, lon, name, place in rows]


class SettlementLabels(JSCSSMixin, Layer):
    """Settlement names drawn as text (never as HTML) at the zoom of their kind, only those in view."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = areavasta.labels({{ this._parent.get_name() }}, {{ this.rows|tojson }});
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% endmacro %}
        """
    )
    default_js: list[tuple[str, str]] = [SHARED_SCRIPT]  # noqa: RUF012 (folium declares it so)

    def __init__(self, rows: list[list[Any]], name: str = "Nomi delle località (OpenStreetMap)") -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "SettlementLabels"
        self.rows = rows


def add_labels(m: folium.Map, conn: Connection, display: Display, national: bool = False) -> None:
    """The settlements' names on ``m`` when any are loaded."""
    rows = settlement_rows(conn, display, national)
    if rows:
        SettlementLabels(rows).add_to(m)
