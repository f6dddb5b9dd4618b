/* The map: Leaflet from the app's own static files; GeoJSON (WGS-84) from
   /api/v1/communities/{id}/map. With AMap's tiles (data-crs="gcj02") the points are shifted
   to GCJ-02 so that they sit on AMap's streets; OpenStreetMap and 天地图 tiles are WGS-84. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }

  /* WGS-84 → GCJ-02 (the published approximation; outside China nothing moves). */
  var A = 6378245.0, EE = 0.00669342162296594323;
  var outside = function (lat, lon) { return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271; };
  var tLat = function (x, y) {
    var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return r;
  };
  var tLon = function (x, y) {
    var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return r;
  };
  var toGcj = function (lat, lon) {
    if (outside(lat, lon)) { return [lat, lon]; }
    var dLat = tLat(lon - 105.0, lat - 35.0), dLon = tLon(lon - 105.0, lat - 35.0);
    var rad = lat / 180.0 * Math.PI, magic = Math.sin(rad);
    magic = 1 - EE * magic * magic;
    var sq = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dLon = (dLon * 180.0) / (A / sq * Math.cos(rad) * Math.PI);
    return [lat + dLat, lon + dLon];
  };
  var gcj = el.dataset.crs === "gcj02";
  var place = function (lat, lon) { return gcj ? L.latLng(toGcj(lat, lon)) : L.latLng(lat, lon); };

  var map = L.map(el, { keyboard: true }).setView(place(+el.dataset.lat, +el.dataset.lon), 15);
  L.tileLayer(el.dataset.tiles, {
    maxZoom: 19, subdomains: el.dataset.subdomains || "abc", attribution: el.dataset.attribution
  }).addTo(map);
  if (!el.dataset.url) { return; }
  fetch(el.dataset.url, { credentials: "same-origin", headers: { Accept: "application/geo+json, application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data) { return; }
      var isMember = function (p) { return (p.kind || "") === "member"; };
      var layer = L.geoJSON(data, {
        coordsToLatLng: function (c) { return place(c[1], c[0]); },
        pointToLayer: function (feature, latlng) {
          var member = isMember(feature.properties || {});
          return L.circleMarker(latlng, {
            radius: member ? 5 : 7, weight: 1, color: "#222",
            fillColor: member ? "#1f5fbf" : "#c0392b", fillOpacity: 0.85
          });
        },
        onEachFeature: function (feature, lyr) {
          var p = feature.properties || {};
          var text = isMember(p) ? el.dataset.memberLabel
            : el.dataset.demandLabel + " · " + (p.category_label || p.category || "") +
              (p.priority ? " · P" + p.priority : "");
          lyr.bindPopup(document.createTextNode(text));
        }
      }).addTo(map);
      if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [20, 20] }); }
    });
})();
