"""Classed colour scales and their legends, shared by the maps."""

from __future__ import annotations

import html
from dataclasses import dataclass

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from maps.static import SHARED_SCRIPT


@dataclass(frozen=True)
class Classes:
    """Upper bounds of each class (the last is open), their colours and labels."""

    title: str
    bounds: tuple[float, ...]
    colours: tuple[str, ...]
    labels: tuple[str, ...]
    missing: str = "#bdbdbd"

    def colour(self, value: float | None) -> str:
        """The colour of the first class whose upper bound exceeds ``value`` (the last class above them all; ``missing``
        for None)."""
        if value is None:
            return self.missing
        return next((c for b, c in zip(self.bounds, self.colours, strict=False) if value < b), self.colours[-1])

    def markup(self, note: str | None = None) -> str:
        """The legend's HTML: the title, then a swatch and a label per class and for missing values, and a
        ``note`` (a reading aid, the service's own text) below."""
        swatch = "width:14px;height:14px;display:inline-block;margin-right:6px;border:1px solid #555"
        rows = "".join(
            f'<div><span style="background:{c};{swatch}"></span>{html.escape(label)}</div>'
            for c, label in zip((*self.colours, self.missing), (*self.labels, "dato non disponibile"), strict=True)
        )
        after = f'<div style="max-width:22em;margin-top:4px">{html.escape(note)}</div>' if note else ""
        return f"<b>{html.escape(self.title)}</b>{rows}{after}"

    def add_legend(self, m: folium.Map, layer: Layer | None = None, note: str | None = None) -> None:
        """The legend on ``m`` (with a ``note``); with ``layer``, shown only while that layer is."""
        Legend(self.markup(note), layer).add_to(m)


class Legend(JSCSSMixin, MacroElement):
    """A legend control (stacked in the lower right corner), tied to a layer's visibility when given one."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        areavasta.legend({{ this._parent.get_name() }}, {{ this.markup|tojson }},
            {{ this.layer.get_name() if this.layer else 'null' }});
        {% endmacro %}
        """
    )
    default_js: list[tuple[str, str]] = [SHARED_SCRIPT]  # noqa: RUF012 (folium declares it so)

    def __init__(self, markup: str, layer: Layer | None = None) -> None:
        super().__init__()
        self._name = "Legend"
        self.markup = markup
        self.layer = layer


FTTH_SHARE = Classes(
    "Famiglie raggiunte da FTTH",
    (0.2, 0.4, 0.6, 0.8, 1.01),
    ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"),
    ("< 20%", "20–40%", "40–60%", "60–80%", "≥ 80%"),
)
NEW_FTTH = Classes(
    "Nuove famiglie FTTH tra le date",
    (0, 1, 50, 200, 1000, float("inf")),
    ("#d6604d", "#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"),
    ("in calo (dato da verificare)", "0", "1–49", "50–199", "200–999", "≥ 1.000"),
)
