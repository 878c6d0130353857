// The map of an OGC API HTML page: the features of the page (CRS84 GeoJSON) or the collection's extent, drawn
// without any tile server (the service works offline); the data come from a JSON block of the page.
(function () {
  var element = document.getElementById("map");
  if (!element || typeof L === "undefined") { return; }
  var map = L.map(element, { attributionControl: false });
  var features = document.getElementById("features");
  var extent = document.getElementById("extent");
  var bounds = null;
  if (features) {
    var layer = L.geoJSON(JSON.parse(features.textContent), {
      style: { color: "#1f5fa8", weight: 2, fillOpacity: 0.15 },
      pointToLayer: function (_f, latlng) { return L.circleMarker(latlng, { radius: 5 }); },
      // the id as text: Leaflet writes a string tooltip as HTML, and ids come from the data
      onEachFeature: function (f, l) {
        var tip = document.createElement("span");
        tip.textContent = String(f.id);
        l.bindTooltip(tip);
      }
    }).addTo(map);
    if (layer.getLayers().length) { bounds = layer.getBounds(); }
  } else if (extent) {
    var box = JSON.parse(extent.textContent);
    if (box) {
      bounds = L.latLngBounds([box[1], box[0]], [box[3], box[2]]);
      L.rectangle(bounds, { color: "#1f5fa8", weight: 2, fillOpacity: 0.1 }).addTo(map);
    }
  }
  if (bounds) { map.fitBounds(bounds, { padding: [10, 10] }); } else { map.setView([45.6, 10.0], 8); }
})();
