"""A choropleth drawn from the service's own vector tiles (Leaflet.VectorGrid, served by the app): a national map
ships a few kilobytes of page and then only the tiles in view, instead of every municipality as GeoJSON.

Popups are built as DOM nodes with ``textContent`` (never as HTML strings), so names from the data cannot run
script; numbers are written the Italian way by the browser (``it-IT``).
"""

from __future__ import annotations

from typing import Any

from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template

from maps.legend import Classes
from maps.static import SHARED_SCRIPT, VECTORGRID_URL


class TiledChoropleth(JSCSSMixin, Layer):
    """Features of the tiles at ``url`` (layer ``layer``) filled by the classes of ``classes`` on property
    ``value``; a click opens their ``fields`` (label, property, kind: text, percent, integer or label) in a popup,
    where ``labels`` maps coded values of ``label`` fields to their Italian names. A feature whose property
    ``doubtful_when[0]`` (flags separated by ``;``) holds one of the flags ``doubtful_when[1]`` takes the
    missing-value colour."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            // Leaflet 1.8 dropped fakeStop, which VectorGrid 1.3 calls on every click of an interactive tile
            if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function () { return true; }; }
            var classes = {{ this.classes|tojson }};
            var fields = {{ this.fields|tojson }};
            var labels = {{ this.labels|tojson }};
            var doubtful = {{ (this.doubtful_when[1] if this.doubtful_when else [])|tojson }};
            function colour(value) {
                if (value === undefined || value === null) { return classes.missing; }
                for (var i = 0; i < classes.bounds.length; i++) {
                    if (value < classes.bounds[i]) { return classes.colours[i]; }
                }
                return classes.colours[classes.colours.length - 1];
            }
            var layer = L.vectorGrid.protobuf({{ this.url|tojson }}, {
                rendererFactory: L.canvas.tile,
                interactive: true,
                maxNativeZoom: 14,
                vectorTileLayerStyles: {
                    {{ this.layer|tojson }}: function (p) {
                        {% if this.doubtful_when %}
                        var flags = String(p[{{ this.doubtful_when[0]|tojson }}] || '').split(';');
                        if (flags.some(function (f) { return doubtful.indexOf(f) >= 0; })) {
                            return {fill: true, fillColor: classes.missing, fillOpacity: 0.75, color: '#555',
                                    weight: 0.5};
                        }
                        {% endif %}
                        return {fill: true, fillColor: colour(p[{{ this.value|tojson }}]), fillOpacity: 0.75,
                                color: '#555', weight: 0.5};
                    }
                }
            });
            layer.on('click', function (e) {
                L.popup().setLatLng(e.latlng).setContent(areavasta.figures(fields, e.layer.properties, labels))
                    .openOn({{ this._parent.get_name() }});
            });
            return layer;
        })();
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% endmacro %}
        """
    )
    default_js: list[tuple[str, str]] = [  # noqa: RUF012 (folium declares it so)
        ("vectorgrid", f"{VECTORGRID_URL}/Leaflet.VectorGrid.bundled.min.js"),
        SHARED_SCRIPT,
    ]

    def __init__(
        self,
        url: str,
        layer: str,
        value: str,
        classes: Classes,
        fields: list[tuple[str, str, str]],
        labels: dict[str, str],
        name: str,
        doubtful_when: tuple[str, list[str]] | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "TiledChoropleth"
        self.url = url
        self.layer = layer
        self.value = value
        self.classes: dict[str, Any] = {
            "bounds": [b if b != float("inf") else 1e308 for b in classes.bounds],
            "colours": list(classes.colours),
            "missing": classes.missing,
        }
        self.fields = [list(field) for field in fields]
        self.labels = labels
        self.doubtful_when = doubtful_when
