"""The controls a planner works a map with, drawn by the maps' shared script (``maps/static/areavasta.js``): the
municipality search and the ranked table beside the map, and the page's own choices (province, date, level)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from maps.static import SHARED_SCRIPT
from maps.tiled import TiledChoropleth

# a ranked column: short heading, full heading, position in the municipality's figures, kind (percent, integer,
# decimal), and which end is the worse ("low" or "high"): the first click ranks the worst first
Column = tuple[str, str, int, str, str]


class MunicipalityPanel(JSCSSMixin, MacroElement):
    """A search box and a ranked table of the municipalities of ``layer`` in view, sortable by ``columns``.

    ``layer`` is a GeoJSON layer whose features carry ``comune``, ``pro_com_t`` and their ranked figures ``n``, or a
    tiled choropleth, whose municipalities come as ``rows`` ([code, name, south, west, north, east, figures…]) and
    whose record a selection asks of the OGC API at ``items_url`` (the municipality's code is appended).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            {% if this.rows is none %}
            var index = areavasta.indexOfLayer(map, {{ this.layer.get_name() }}, 'comune', 'pro_com_t');
            {% else %}
            var index = areavasta.indexOfRows(map, {{ this.layer.get_name() }}, {{ this.rows|tojson }},
                {{ this.items_url|tojson }}, {{ this.layer.fields|tojson }}, {{ this.layer.labels|tojson }},
                'pro_com_t');
            {% endif %}
            areavasta.search(index);
            areavasta.ranked(index, {{ this.columns|tojson }});
        })();
        {% endmacro %}
        """
    )
    default_js: list[tuple[str, str]] = [SHARED_SCRIPT]  # noqa: RUF012 (folium declares it so)

    def __init__(
        self,
        layer: folium.GeoJson | TiledChoropleth,
        columns: list[Column],
        rows: list[list[Any]] | None = None,
        items_url: str | None = None,
    ) -> None:
        super().__init__()
        self._name = "MunicipalityPanel"
        self.layer = layer
        self.columns = [list(column) for column in columns]
        self.rows = rows
        self.items_url = items_url


class PageSearch(JSCSSMixin, MacroElement):
    """A search box that opens another municipality's page: ``rows`` are [code, name], the page is ``prefix`` +
    code."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        areavasta.search(areavasta.indexOfPages({{ this._parent.get_name() }}, {{ this.rows|tojson }},
            {{ this.prefix|tojson }}));
        {% endmacro %}
        """
    )
    default_js: list[tuple[str, str]] = [SHARED_SCRIPT]  # noqa: RUF012 (folium declares it so)

    def __init__(self, rows: list[list[str]], prefix: str) -> None:
        super().__init__()
        self._name = "PageSearch"
        self.rows = rows
        self.prefix = prefix


@dataclass(frozen=True)
class Choice:
    """A parameter of the page a planner picks from a list: ``options`` are (value, Italian text), '' for none."""

    param: str
    label: str
    options: list[tuple[str, str]]
    value: str


class Choices(JSCSSMixin, MacroElement):
    """Lists on the page for its parameters (province, date, level): a change reloads the page with the choice."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        areavasta.choices({{ this._parent.get_name() }}, {{ this.choices|tojson }});
        {% endmacro %}
        """
    )
    default_js: list[tuple[str, str]] = [SHARED_SCRIPT]  # noqa: RUF012 (folium declares it so)

    def __init__(self, choices: list[Choice]) -> None:
        super().__init__()
        self._name = "Choices"
        self.choices = [asdict(choice) for choice in choices]
