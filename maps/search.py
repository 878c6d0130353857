"""A search box on a map: finds a municipality of a GeoJSON layer by name (accents and case ignored) or ISTAT
code, zooms to it and opens its figures. Names are matched and listed through DOM properties, never as HTML."""

from __future__ import annotations

import folium
from branca.element import MacroElement
from jinja2 import Template


class MunicipalitySearch(MacroElement):
    """The box for the features of ``layer`` (their ``name`` and ``code`` properties)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, layer = {{ this.layer.get_name() }};
            var nameKey = {{ this.name|tojson }}, codeKey = {{ this.code|tojson }};
            function plain(text) {  // the names arrive HTML-escaped for the popups
                var area = document.createElement('textarea'); area.innerHTML = String(text); return area.value;
            }
            function norm(text) {
                return plain(text).normalize('NFD').replace(/[\\u0300-\\u036f]/g, '').toLowerCase().trim();
            }
            var box = L.control({position: 'topleft'});
            box.onAdd = function () {
                var div = L.DomUtil.create('div', 'areavasta-search leaflet-bar');
                div.style.background = 'white'; div.style.padding = '4px';
                var input = L.DomUtil.create('input', '', div);
                input.type = 'search'; input.placeholder = 'Cerca un comune (nome o codice ISTAT)';
                input.setAttribute('aria-label', 'Cerca un comune per nome o codice ISTAT');
                input.style.width = '17em'; input.setAttribute('list', 'areavasta-comuni');
                var list = L.DomUtil.create('datalist', '', div); list.id = 'areavasta-comuni';
                var message = L.DomUtil.create('div', 'areavasta-search-message', div);
                message.style.font = '12px sans-serif';
                layer.eachLayer(function (item) {
                    var option = document.createElement('option');
                    option.value = plain(item.feature.properties[nameKey]);
                    list.appendChild(option);
                });
                function find() {
                    var wanted = norm(input.value), exact = null, partial = null;
                    if (!wanted) { return; }
                    layer.eachLayer(function (item) {
                        var p = item.feature.properties, name = norm(p[nameKey]);
                        if (!exact && (String(p[codeKey]) === wanted || name === wanted)) { exact = item; }
                        if (!partial && name.indexOf(wanted) === 0) { partial = item; }
                    });
                    var hit = exact || partial;
                    message.textContent = hit ? '' : 'Nessun comune trovato per «' + input.value + '»';
                    if (hit) {
                        map.fitBounds(hit.getBounds(), {maxZoom: 12});
                        // the layer's popup is bound to the whole layer: a click on the municipality opens it
                        hit.fire('click', {latlng: hit.getBounds().getCenter(), layer: hit}, true);
                    }
                }
                input.addEventListener('change', find);
                input.addEventListener('keydown', function (e) { if (e.key === 'Enter') { find(); } });
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            box.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer: folium.GeoJson, name: str = "comune", code: str = "pro_com_t") -> None:
        super().__init__()
        self._name = "MunicipalitySearch"
        self.layer = layer
        self.name = name
        self.code = code
