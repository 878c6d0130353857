"""What every map page has: a source line, the layer control and a title."""

from __future__ import annotations

import html

import folium


def finish(m: folium.Map, title: str, source: str) -> str:
    """Add the source line, layer control and title, and render the standalone page."""
    note = (
        '<div class="areavasta-source" style="position:fixed;bottom:4px;left:110px;z-index:1000;background:white;'
        f'padding:2px 6px;font:11px sans-serif">Fonte: {html.escape(source)}</div>'
    )
    m.get_root().html.add_child(folium.Element(note))
    folium.LayerControl(collapsed=False).add_to(m)
    m.get_root().header.add_child(folium.Element(f"<title>{html.escape(title)}</title>"))
    return m.get_root().render()


def popup_table(rows: list[tuple[str, object]]) -> str:
    """A small two-column table for a popup, values escaped."""
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:8px'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table>{cells}</table>"
