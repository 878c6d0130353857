/* What every areavasta map page shares: the municipality search, the ranked table, the page's own controls
 * (province, date, level), legends that follow their layer, settlement labels and Italian number formats.
 *
 * Names from the data reach the page HTML-escaped (folium writes popups as HTML); here they are always written
 * with textContent, never as HTML, so nothing from the data can run as script.
 */
(function () {
    'use strict';
    var av = window.areavasta = {};

    /** The text of an HTML-escaped name. */
    av.plain = function (text) {
        var area = document.createElement('textarea');
        area.innerHTML = String(text);
        return area.value;
    };

    /** A name as searched: no accents, apostrophes (straight or typographic), hyphens or spaces, lower case. */
    av.norm = function (text) {
        return av.plain(text).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
            .replace(/[\s'\u2019\u2018`\-.]+/g, '');
    };

    /** A number the Italian way, as the service writes it: dots between thousands (from 1.000 on), a decimal
     * comma and ``decimals`` decimals. */
    av.number = function (value, decimals) {
        var parts = Math.abs(Number(value)).toFixed(decimals || 0).split('.');
        var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, '.');
        return (Number(value) < 0 ? '-' : '') + whole + (parts.length > 1 ? ',' + parts[1] : '');
    };

    /** A value as an Italian reader expects it: kind is percent (a share), integer, decimal, label or text. */
    av.shown = function (kind, value, labels) {
        if (value === undefined || value === null || value === '') { return 'n.d.'; }
        if (kind === 'percent') { return av.number(value * 100, 1) + '%'; }
        if (kind === 'integer') { return av.number(value, 0); }
        if (kind === 'decimal') { return av.number(value, 1); }
        if (kind === 'label') {
            return String(value).split(';').filter(Boolean).map(function (v) {
                return (labels && labels[v]) || v;
            }).join('; ');
        }
        return String(value);
    };

    /** A two-column table of figures: fields are [label, property, kind]. */
    av.figures = function (fields, properties, labels) {
        var table = document.createElement('table');
        fields.forEach(function (field) {
            var row = table.insertRow(), head = document.createElement('th'), cell = row.insertCell(-1);
            head.textContent = field[0];
            head.style.textAlign = 'left';
            head.style.paddingRight = '8px';
            row.insertBefore(head, cell);
            cell.textContent = av.shown(field[2], properties[field[1]], labels);
        });
        return table;
    };

    /** A two-column table of rows [label, text], written as text. */
    av.rows = function (rows) {
        return av.figures(rows.map(function (row, i) { return [row[0], i, 'text']; }),
            rows.map(function (row) { return row[1]; }));
    };

    /** The municipalities a page can search and rank: entries {code, name, bounds, n}, where n holds the ranked
     * figures; open(entry) shows an entry's figures on the map; select(code) tells every listener. */
    function Index(map, entries, open) {
        this.map = map;
        this.entries = entries;
        this.open = open;
        this.listeners = [];
    }
    Index.prototype.show = function (entry) {
        // without animation the map is in place when the popup opens, so the popup can pan itself into view
        this.map.fitBounds(entry.bounds, {maxZoom: 12, animate: false});
        this.open(entry);
        this.select(entry.code);
    };
    Index.prototype.select = function (code) {
        this.listeners.forEach(function (listener) { listener(code); });
    };
    /** The municipality a planner means: its ISTAT code (leading zeros optional) or name, else the first whose
     * name starts with the text, else the first that contains it. */
    Index.prototype.find = function (text) {
        var wanted = av.norm(text), exact = null, prefix = null, inside = null;
        if (!wanted) { return null; }
        var code = /^\d{1,6}$/.test(wanted) ? ('000000' + wanted).slice(-6) : null;
        this.entries.forEach(function (entry) {
            var name = av.norm(entry.name);
            if (!exact && (entry.code === code || name === wanted)) { exact = entry; }
            if (!prefix && name.indexOf(wanted) === 0) { prefix = entry; }
            if (!inside && name.indexOf(wanted) > 0) { inside = entry; }
        });
        return exact || prefix || inside;
    };

    /** The index of a GeoJSON layer's municipalities: a selection opens the layer's own popup. */
    av.indexOfLayer = function (map, layer, nameKey, codeKey) {
        var entries = [];
        layer.eachLayer(function (item) {
            var p = item.feature.properties;
            entries.push({code: String(p[codeKey]), name: av.plain(p[nameKey]), bounds: item.getBounds(),
                n: p.n || [], item: item});
        });
        var index = new Index(map, entries, function (entry) {
            // the popup is bound to the whole layer: a click on the municipality opens it
            entry.item.fire('click', {latlng: entry.bounds.getCenter(), layer: entry.item}, true);
        });
        layer.on('click', function (e) { index.select(String((e.layer || e.propagatedFrom).feature.properties[codeKey])); });
        return index;
    };

    /** The index of municipalities drawn from tiles: rows are [code, name, south, west, north, east, n...];
     * a selection asks the OGC API for the municipality's record (itemsUrl + its code) and shows its fields. */
    av.indexOfRows = function (map, layer, rows, itemsUrl, fields, labels, codeKey) {
        var entries = rows.map(function (row) {
            return {code: row[0], name: row[1], bounds: L.latLngBounds([row[2], row[3]], [row[4], row[5]]),
                n: row.slice(6)};
        });
        var index = new Index(map, entries, function (entry) {
            fetch(itemsUrl + '&' + codeKey + '=' + encodeURIComponent(entry.code))
                .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
                .then(function (collection) {
                    var feature = collection.features[0];
                    L.popup().setLatLng(entry.bounds.getCenter())
                        .setContent(av.figures(fields, feature.properties, labels)).openOn(map);
                })
                .catch(function () {
                    L.popup().setLatLng(entry.bounds.getCenter())
                        .setContent(document.createTextNode(entry.name + ': dati non disponibili')).openOn(map);
                });
        });
        layer.on('click', function (e) { index.select(String(e.layer.properties[codeKey])); });
        return index;
    };

    /** The index of municipalities that have a page each (rows are [code, name]): a selection opens its page. */
    av.indexOfPages = function (map, rows, prefix) {
        var index = new Index(map, rows.map(function (row) { return {code: row[0], name: row[1], n: []}; }),
            function (entry) { window.location.assign(prefix + encodeURIComponent(entry.code)); });
        index.show = function (entry) { index.open(entry); };
        return index;
    };

    /** A search box (name or ISTAT code, accents and case ignored) that zooms to a municipality and opens it. */
    av.search = function (index) {
        var box = L.control({position: 'topleft'});
        box.onAdd = function () {
            var div = L.DomUtil.create('div', 'areavasta-search leaflet-bar');
            div.style.background = 'white';
            div.style.padding = '4px';
            var input = L.DomUtil.create('input', '', div);
            input.type = 'search';
            input.placeholder = 'Cerca un comune (nome o codice ISTAT)';
            input.setAttribute('aria-label', 'Cerca un comune per nome o codice ISTAT');
            input.style.width = '21em';
            input.setAttribute('list', 'areavasta-comuni');
            var list = L.DomUtil.create('datalist', '', div);
            list.id = 'areavasta-comuni';
            var message = L.DomUtil.create('div', 'areavasta-search-message', div);
            message.style.font = '12px sans-serif';
            index.entries.forEach(function (entry) {
                var option = document.createElement('option');
                option.value = entry.name;
                list.appendChild(option);
            });
            var searched = null;  // Enter fires both keydown and change: one search per typed value
            function find() {
                if (!input.value.trim() || input.value === searched) { return; }
                searched = input.value;
                var hit = index.find(input.value);
                message.textContent = hit ? '' : 'Nessun comune trovato per «' + input.value + '»';
                if (hit) { index.show(hit); }
            }
            input.addEventListener('input', function () { searched = null; });
            input.addEventListener('change', find);
            input.addEventListener('keydown', function (e) { if (e.key === 'Enter') { find(); } });
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        box.addTo(index.map);
    };

    /** A side panel ranking the municipalities in view (the first 100) by one of columns ([short heading, full
     * heading, position in n, kind, 'low' or 'high': which end is the worse]), worst first; a heading click sorts
     * by it (again: the other way), a row click selects the municipality on the map, a selection on the map marks
     * its row. */
    av.ranked = function (index, columns) {
        var map = index.map, sortBy = 0, ascending = columns[0][4] !== 'high', rows = {}, selected = null;
        var body, caption, drawn = null;
        var panel = L.control({position: 'bottomleft'});
        panel.onAdd = function () {
            var div = L.DomUtil.create('div', 'areavasta-ranked leaflet-bar');
            div.style.cssText = 'background:white;padding:4px 6px;max-height:30vh;max-width:34em;' +
                'overflow:auto;font:11px sans-serif;margin-bottom:30px';
            caption = L.DomUtil.create('div', '', div);
            caption.style.cssText = 'font-weight:bold;position:sticky;top:-4px;background:white;padding-top:4px';
            var table = L.DomUtil.create('table', '', div);
            var header = table.createTHead();
            header.style.cssText = 'position:sticky;top:28px;background:white';
            var head = header.insertRow();
            head.insertCell().textContent = 'Comune';
            columns.forEach(function (column, i) {
                var cell = head.insertCell();
                cell.textContent = column[0];
                cell.style.cursor = 'pointer';
                cell.style.fontWeight = 'bold';
                cell.title = column[1] + ': clic per ordinare';
                cell.addEventListener('click', function () {
                    ascending = sortBy === i ? !ascending : column[4] !== 'high';
                    sortBy = i;
                    fill();
                });
            });
            body = table.createTBody();
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        function mark() {
            Object.keys(rows).forEach(function (code) {
                rows[code].className = code === selected ? 'areavasta-selected' : '';
                rows[code].style.background = code === selected ? '#ffe08a' : '';
            });
            if (rows[selected]) { rows[selected].scrollIntoView({block: 'nearest'}); }
        }
        function fill() {
            var view = map.getBounds(), position = columns[sortBy][2];
            var shown = index.entries.filter(function (entry) { return view.intersects(entry.bounds); });
            shown.sort(function (a, b) {
                var x = a.n[position], y = b.n[position];
                if (x === null || x === undefined) { return 1; }
                if (y === null || y === undefined) { return -1; }
                return ascending ? x - y : y - x;
            });
            var heading = columns[sortBy][1], listed = shown.slice(0, 100);
            var chosen = shown.filter(function (entry) { return entry.code === selected; })[0];
            if (chosen && listed.indexOf(chosen) < 0) { listed.push(chosen); }  // the selection always has its row
            // a map move that changes nothing keeps the rows: a click that is under way still lands on its row
            var drawing = [sortBy, ascending, shown.length].concat(listed.map(function (e) { return e.code; })).join();
            if (drawing === drawn) { mark(); return; }
            drawn = drawing;
            caption.textContent = 'Comuni nella vista: ' + av.number(shown.length) +
                (shown.length > 100 ? ' (in tabella i primi 100)' : '') + ' — per ' +
                heading.charAt(0).toLowerCase() + heading.slice(1) + (ascending ? ' (dal più basso)' : ' (dal più alto)');
            body.textContent = '';
            rows = {};
            listed.forEach(function (entry) {
                var row = body.insertRow();
                row.dataset.code = entry.code;
                row.style.cursor = 'pointer';
                row.insertCell().textContent = entry.name;
                columns.forEach(function (column) {
                    var cell = row.insertCell();
                    cell.textContent = av.shown(column[3], entry.n[column[2]]);
                    cell.style.textAlign = 'right';
                });
                row.addEventListener('click', function (event) {
                    // showing redraws the rows, so the map no longer sees this one inside the panel: without the
                    // stop it would take the click for its own and close the popup just opened
                    L.DomEvent.stopPropagation(event);
                    index.show(entry);
                });
                rows[entry.code] = row;
            });
            mark();
        }
        index.listeners.push(function (code) {
            var known = rows[code];
            selected = code;
            if (known) { mark(); } else { fill(); }
        });
        map.on('moveend', fill);
        panel.addTo(map);
        fill();
    };

    /** The page's own choices (province, date, level…): each is {param, label, options: [[value, text]], value};
     * a change reloads the page with the chosen parameters ('' drops a parameter). */
    av.choices = function (map, choices) {
        var box = L.control({position: 'topright'});
        box.onAdd = function () {
            var div = L.DomUtil.create('div', 'areavasta-choices leaflet-bar');
            div.style.cssText = 'background:white;padding:4px 6px;font:12px sans-serif';
            choices.forEach(function (choice) {
                var label = L.DomUtil.create('label', '', div);
                label.style.display = 'block';
                label.textContent = choice.label + ' ';
                var select = L.DomUtil.create('select', '', label);
                select.name = choice.param;
                choice.options.forEach(function (option) {
                    var element = document.createElement('option');
                    element.value = option[0];
                    element.textContent = option[1];
                    element.selected = option[0] === choice.value;
                    select.appendChild(element);
                });
                select.addEventListener('change', function () {
                    var query = new URLSearchParams(window.location.search);
                    if (select.value) { query.set(choice.param, select.value); } else { query.delete(choice.param); }
                    var search = query.toString();
                    window.location.assign(window.location.pathname + (search ? '?' + search : ''));
                });
            });
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        box.addTo(map);
    };

    /** A scale bar in metres and kilometres only. */
    av.scale = function (map) {
        L.control.scale({imperial: false}).addTo(map);
    };

    /** A legend in the map's lower right corner (legends stack there); with a layer, shown only while the layer
     * is on the map. The markup is the service's own (titles and class labels), never data. */
    av.legend = function (map, markup, layer) {
        var control = L.control({position: 'bottomright'});
        control.onAdd = function () {
            var div = L.DomUtil.create('div', 'areavasta-legend');
            div.style.cssText = 'background:white;padding:8px 10px;border:1px solid #888;border-radius:4px;' +
                'font:12px sans-serif';
            div.innerHTML = markup;
            return div;
        };
        control.addTo(map);
        if (layer) {
            var update = function () { control.getContainer().style.display = map.hasLayer(layer) ? '' : 'none'; };
            map.on('overlayadd overlayremove', update);
            update();
        }
    };

    /** Settlement names as labels, each from the zoom its kind of place deserves: rows are
     * [lat, lon, name, minimum zoom]; only the labels in view are drawn. */
    av.labels = function (map, rows) {
        var group = L.layerGroup();
        function draw() {
            group.clearLayers();
            if (!map.hasLayer(group)) { return; }
            var zoom = map.getZoom(), view = map.getBounds().pad(0.1);
            rows.forEach(function (row) {
                if (zoom < row[3] || !view.contains([row[0], row[1]])) { return; }
                var text = document.createElement('span');
                text.textContent = row[2];
                text.style.cssText = 'font:' + (row[3] <= 9 ? 'bold 13px' : '11px') + ' sans-serif;color:#222;' +
                    'white-space:nowrap;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff';
                group.addLayer(L.marker([row[0], row[1]], {
                    icon: L.divIcon({html: text, className: 'areavasta-label', iconSize: null}),
                    interactive: false, keyboard: false
                }));
            });
        }
        map.on('moveend', draw);
        group.on('add', draw);
        return group;
    };
})();
