"""A second view of a GeoJSON layer's features, styled by another property, without a second copy of the data.

folium embeds the data of every ``GeoJson`` layer; a choropleth with a second measure would double the page. This
layer is built in the browser from the first layer's features (``toGeoJSON()``).
"""

from __future__ import annotations

from typing import Any

import folium
from folium.map import Layer
from jinja2 import Template


class Restyled(Layer):
    """The features of ``source`` filled with the colour in property ``fill_property``, with a tooltip made of the
    ``tooltip`` properties (label, property name); the properties are HTML, as the source's own tooltips write them."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        // built when first shown, and tooltips written when first hovered: thousands of features cost nothing
        // until someone asks for this view
        var {{ this.get_name() }} = L.geoJson(null, {
            style: function (f) {
                return Object.assign({}, {{ this.style|tojson }}, {fillColor: f.properties[{{ this.fill|tojson }}]});
            },
            onEachFeature: function (f, layer) {
                layer.bindTooltip(function () {
                    // the source's properties are HTML, as its own tooltips write them: read as text, escaped once
                    var esc = function (s) { var d = document.createElement('div');
                        d.textContent = window.areavasta.plain(s); return d.innerHTML; };
                    return {{ this.tooltip|tojson }}.map(function (pair) {
                        return '<b>' + esc(pair[0]) + '</b>: ' + esc(f.properties[pair[1]]); }).join('<br>');
                });
            }
        });
        {{ this.get_name() }}.once('add', function () {
            {{ this.get_name() }}.addData({{ this.source.get_name() }}.toGeoJSON());
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        source: folium.GeoJson,
        fill_property: str,
        tooltip: list[tuple[str, str]],
        style: dict[str, Any],
        name: str,
        show: bool = False,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "Restyled"
        self.source = source
        self.fill = fill_property
        self.tooltip = [list(pair) for pair in tooltip]
        self.style = style
