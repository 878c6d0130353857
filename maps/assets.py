"""folium maps whose scripts and styles are the ones the application serves itself (maps.static)."""

from __future__ import annotations

from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import FastMarkerCluster
from jinja2 import Template

from maps.static import CLUSTER_URL, JQUERY_URL, LEAFLET_URL, SHARED_SCRIPT


def offline_map(canvas: bool = False, **options: Any) -> folium.Map:
    """A folium map whose only scripts and styles are the locally served Leaflet ones; ``canvas`` draws vector
    layers on one canvas instead of an SVG path each."""
    # without tiles nothing sets a zoom range, and marker clustering needs one
    m = folium.Map(tiles=None, control_scale=False, prefer_canvas=canvas, **options)
    MetricScale().add_to(m)
    m.options["maxZoom"] = 19
    # folium builds popups with jQuery
    m.default_js = [("leaflet", f"{LEAFLET_URL}/leaflet.js"), ("jquery", f"{JQUERY_URL}/jquery.min.js")]
    m.default_css = [("leaflet_css", f"{LEAFLET_URL}/leaflet.css")]
    return m


class MetricScale(JSCSSMixin, MacroElement):
    """Leaflet's scale bar in metres and kilometres only (folium's shows miles and feet too)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        areavasta.scale({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )
    default_js: list[tuple[str, str]] = [SHARED_SCRIPT]  # noqa: RUF012 (folium declares it so)

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


def offline_cluster(name: str, rows: list[list[Any]], callback: str, icon: str | None = None) -> FastMarkerCluster:
    """Clustered markers built in the browser from compact ``rows`` by ``callback`` (groups drawn by ``icon``,
    a JavaScript function), with the locally served Leaflet.markercluster."""
    cluster = FastMarkerCluster(rows, callback=callback, name=name, icon_create_function=icon)
    cluster.default_js = [("markerclusterjs", f"{CLUSTER_URL}/leaflet.markercluster.js")]
    cluster.default_css = [
        ("markerclustercss", f"{CLUSTER_URL}/MarkerCluster.css"),
        ("markerclusterdefaultcss", f"{CLUSTER_URL}/MarkerCluster.Default.css"),
    ]
    return cluster
