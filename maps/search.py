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


class RankedTable(MacroElement):
    """A side panel ranking the municipalities in view (the first 100) by one of ``columns`` (short and full
    heading, index in the feature's ``n`` list, kind), lowest first; a click on a heading sorts by it (again: the
    other way), a row click selects the municipality on the map, and a click on the map selects its row."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, layer = {{ this.layer.get_name() }};
            var columns = {{ this.columns|tojson }}, sortBy = 0, ascending = true, rows = {};
            function plain(text) {
                var area = document.createElement('textarea'); area.innerHTML = String(text); return area.value;
            }
            function shown(kind, value) {
                if (value === null || value === undefined) { return 'n.d.'; }
                if (kind === 'percent') {
                    return (value * 100).toLocaleString('it-IT', {maximumFractionDigits: 1}) + '%';
                }
                if (kind === 'decimal') { return value.toLocaleString('it-IT', {maximumFractionDigits: 1}); }
                return value.toLocaleString('it-IT');
            }
            var panel = L.control({position: 'bottomleft'});
            var table, body, caption;
            panel.onAdd = function () {
                var div = L.DomUtil.create('div', 'areavasta-ranked leaflet-bar');
                div.style.cssText = 'background:white;padding:4px 6px;max-height:30vh;max-width:26em;' +
                    'overflow:auto;font:11px sans-serif;margin-bottom:30px';
                caption = L.DomUtil.create('div', '', div);
                caption.style.fontWeight = 'bold';
                table = L.DomUtil.create('table', '', div);
                var head = table.createTHead().insertRow();
                head.insertCell().textContent = 'Comune';
                columns.forEach(function (column, i) {
                    var cell = head.insertCell();
                    cell.textContent = column[0];
                    cell.style.cursor = 'pointer';
                    cell.style.fontWeight = 'bold';
                    cell.title = column[1] + ': clic per ordinare';
                    cell.addEventListener('click', function () {
                        ascending = sortBy === i ? !ascending : true; sortBy = i; fill();
                    });
                });
                body = table.createTBody();
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            function fill() {
                var view = map.getBounds(), shownLayers = [];
                layer.eachLayer(function (item) {
                    if (view.intersects(item.getBounds())) { shownLayers.push(item); }
                });
                var index = columns[sortBy][2];
                shownLayers.sort(function (a, b) {
                    var x = a.feature.properties.n[index], y = b.feature.properties.n[index];
                    if (x === null) { return 1; } if (y === null) { return -1; }
                    return ascending ? x - y : y - x;
                });
                caption.textContent = 'Comuni nella vista: ' + shownLayers.length.toLocaleString('it-IT') +
                    ' — per ' + columns[sortBy][1].charAt(0).toLowerCase() + columns[sortBy][1].slice(1) +
                    (ascending ? ' (dal più basso)' : ' (dal più alto)');
                body.textContent = '';
                rows = {};
                shownLayers.slice(0, 100).forEach(function (item) {
                    var p = item.feature.properties, row = body.insertRow();
                    row.dataset.code = p.pro_com_t;
                    row.style.cursor = 'pointer';
                    row.insertCell().textContent = plain(p.comune);
                    columns.forEach(function (column) {
                        var cell = row.insertCell();
                        cell.textContent = shown(column[3], p.n[column[2]]);
                        cell.style.textAlign = 'right';
                    });
                    row.addEventListener('click', function () {
                        map.fitBounds(item.getBounds(), {maxZoom: 12});
                        item.fire('click', {latlng: item.getBounds().getCenter(), layer: item}, true);
                    });
                    rows[p.pro_com_t] = row;
                });
            }
            var selected = null;
            function select(code) {
                selected = code;
                Object.keys(rows).forEach(function (key) {
                    rows[key].className = key === code ? 'areavasta-selected' : '';
                    rows[key].style.background = key === code ? '#ffe08a' : '';
                });
                if (rows[code]) { rows[code].scrollIntoView({block: 'nearest'}); }
            }
            layer.on('click', function (e) { select((e.layer || e.propagatedFrom).feature.properties.pro_com_t); });
            map.on('moveend', function () { fill(); if (selected) { select(selected); } });
            panel.addTo(map);
            fill();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer: folium.GeoJson, columns: list[tuple[str, str, int, str]]) -> None:
        super().__init__()
        self._name = "RankedTable"
        self.layer = layer
        self.columns = [list(column) for column in columns]
