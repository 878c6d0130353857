"""Classed colour scales and their legends, shared by the maps."""

from __future__ import annotations

from dataclasses import dataclass

import folium
from branca.element import Element


@dataclass(frozen=True)
class Classes:
    """Upper bounds of each class (the last is open), their colours and labels."""

    title: str
    bounds: tuple[float, ...]
    colours: tuple[str, ...]
    labels: tuple[str, ...]
    missing: str = "#bdbdbd"

    def colour(self, value: float | None) -> str:
        if value is None:
            return self.missing
        return next((c for b, c in zip(self.bounds, self.colours, strict=False) if value < b), self.colours[-1])

    def add_legend(self, m: folium.Map) -> None:
        rows = "".join(
            f'<div><span style="background:{c};width:14px;height:14px;display:inline-block;margin-right:6px;'
            f'border:1px solid #555"></span>{label}</div>'
            for c, label in zip(self.colours, self.labels, strict=True)
        )
        rows += (
            f'<div><span style="background:{self.missing};width:14px;height:14px;display:inline-block;'
            f'margin-right:6px;border:1px solid #555"></span>dato non disponibile</div>'
        )
        html = (
            '<div class="areavasta-legend" style="position:fixed;bottom:24px;right:12px;z-index:1000;background:white;'
            'padding:8px 10px;border:1px solid #888;border-radius:4px;font:12px sans-serif">'
            f"<b>{self.title}</b>{rows}</div>"
        )
        m.get_root().html.add_child(Element(html))


FTTH_SHARE = Classes(
    "Famiglie raggiunte da FTTH",
    (0.2, 0.4, 0.6, 0.8, 1.01),
    ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"),
    ("< 20%", "20–40%", "40–60%", "60–80%", "≥ 80%"),
)
NEW_FTTH = Classes(
    "Nuove famiglie FTTH tra le date",
    (1, 50, 200, 1000, float("inf")),
    ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"),
    ("0", "1–49", "50–199", "200–999", "≥ 1000"),
)
