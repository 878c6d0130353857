"""What every map page has: a source line, the layer control and a title."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import folium

# inline scripts (no src attribute): the only scripts a page may run besides its own assets
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


class MapError(LookupError):
    """The map cannot be drawn (no analysis run, unknown date or municipality): the message, in Italian, says
    what is missing and what to run."""


@dataclass(frozen=True)
class Basemap:
    """An XYZ tile template and its attribution, drawn under a map when configured."""

    url: str
    attribution: str


def finish(m: folium.Map, title: str, source: str, basemap: Basemap | None = None) -> str:
    """Add the basemap (when configured), source line, layer control and title, and render the standalone page."""
    # imported here: the service imports this module (the page policy) without loading folium until a map is built
    import folium
    from branca.element import Figure

    from maps.markup import Markup, render_page

    root = cast(Figure, m.get_root())
    if basemap is not None:
        folium.TileLayer(basemap.url, attr=basemap.attribution, name="Sfondo", max_zoom=19).add_to(m)
    note = (
        '<div class="areavasta-source" style="position:fixed;bottom:4px;left:110px;z-index:1000;background:white;'
        f'padding:2px 6px;font:11px sans-serif">Fonte: {html.escape(source)}</div>'
    )
    root.html.add_child(Markup(note))
    folium.LayerControl(collapsed=False).add_to(m)
    root.header.add_child(Markup(f"<title>{html.escape(title)}</title>"))
    # no favicon request to fail in the console
    root.header.add_child(Markup('<link rel="icon" href="data:,">'))
    return render_page(root).replace("<html>", '<html lang="it">', 1)


def content_security_policy(page: str, tile_url: str | None = None) -> str:
    """A policy for a rendered map page: scripts from the service and the page's own inline scripts (by hash), so
    that markup that slipped in from data (an ``onerror`` handler, a ``<script>``) cannot run; images, styles and
    requests from the service (and the configured tile server)."""
    hashes = sorted(
        {
            f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for body in INLINE_SCRIPT.findall(page)
        }
    )
    images = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}.", "*."))
        images += f" {parts.scheme}://{parts.netloc}"
    return (
        f"default-src 'self'; script-src 'self' {' '.join(hashes)}; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
    )
