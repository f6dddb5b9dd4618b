/* The map (地图): Leaflet from the app's own static files; the community's GeoJSON (WGS-84,
   embedded in the page as #map-data, each feature with its popup's text) over the base map the
   server chose: none (offline: the grids, buildings, demands and members alone, with a
   scale), 天地图 (WGS-84) or AMap/高德 (data-crs="gcj02": every point is shifted from WGS-84 to
   GCJ-02 so that it sits on AMap's streets; service/domain/coordinates.py is the same
   formula). The attribution is the base map's own, without Leaflet's prefix. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  var source = document.getElementById("map-data");
  if (!el || !window.L) { return; }
  var ds = el.dataset;

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
  var gcj = ds.crs === "gcj02";
  var place = function (lat, lon) { return gcj ? L.latLng(toGcj(lat, lon)) : L.latLng(lat, lon); };

  var maxZoom = +ds.maxZoom || 18;
  var map = L.map(el, { keyboard: true, maxZoom: maxZoom, attributionControl: false })
    .setView(place(+ds.lat, +ds.lon), 15);
  if (ds.attribution) {
    L.control.attribution({ prefix: false }).addAttribution(ds.attribution).addTo(map);
  }
  L.control.scale({ metric: true, imperial: false, maxWidth: 160 }).addTo(map);
  if (ds.tiles) {
    L.tileLayer(ds.tiles, { maxZoom: maxZoom, subdomains: ds.subdomains || "abc" }).addTo(map);
    if (ds.labels) {
      L.tileLayer(ds.labels, { maxZoom: maxZoom, subdomains: ds.subdomains || "abc" }).addTo(map);
    }
  }

  var data = null;
  try { data = source ? JSON.parse(source.textContent) : null; } catch (e) { data = null; }
  if (!data || !data.features) { return; }
  var colours = {};
  document.querySelectorAll("#map-legend [data-colour]").forEach(function (item) {
    colours[item.dataset.kind] = item.dataset.colour;
  });

  /* A popup from text only (never HTML from the data). */
  var popup = function (title, lines) {
    var box = document.createElement("div");
    var h = document.createElement("h3");
    h.textContent = title;
    box.appendChild(h);
    lines.forEach(function (line) {
      if (!line[1] && line[1] !== 0) { return; }
      var p = document.createElement("p");
      p.textContent = line[0] ? line[0] + "：" + line[1] : String(line[1]);
      box.appendChild(p);
    });
    return box;
  };
  var colourOf = function (p) { return colours[p.kind === "demand" ? p.status : p.kind] || "#444"; };

  var layer = L.geoJSON(data, {
    coordsToLatLng: function (c) { return place(c[1], c[0]); },
    style: function (feature) {  /* the grids' outlines (points are styled below) */
      if (feature.geometry.type === "Point") { return {}; }
      var colour = colourOf(feature.properties || {});
      return { color: colour, weight: 2, dashArray: "6 4", fillColor: colour, fillOpacity: 0.05 };
    },
    pointToLayer: function (feature, latlng) {
      var p = feature.properties || {};
      if (p.kind === "building") {
        return L.marker(latlng, {
          icon: L.divIcon({ className: "map-building", iconSize: [10, 10] }),
          keyboard: false, title: p.title
        });
      }
      var member = p.kind === "member";
      return L.circleMarker(latlng, {
        radius: member ? 5 : 8, weight: member ? 2 : 1, color: member ? "#fff" : "#222",
        fillColor: colourOf(p), fillOpacity: 0.9
      });
    },
    onEachFeature: function (feature, lyr) {
      var p = feature.properties || {};
      var lines;
      if (p.kind === "demand") {
        lines = [["", p.status_label], [ds.priorityLabel, p.priority_text],
          [ds.contentLabel, p.content], [ds.windowLabel, p.window_text]];
      } else if (p.kind === "member") {
        lines = [["", ds.memberLabel]];
      } else {
        lines = [["", p.kind === "grid" ? ds.gridLabel : ds.buildingLabel], [ds.membersLabel, p.members]];
      }
      lyr.bindPopup(popup(p.title || "", lines));
    }
  }).addTo(map);
  /* Members and demands above the grids' outlines. */
  layer.eachLayer(function (lyr) { if (lyr.bringToFront && !lyr.getLatLngs) { lyr.bringToFront(); } });
  if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { padding: [20, 20], maxZoom: 17 }); }
  window.linliMap = { map: map, layer: layer };  /* for the browser tests */
})();
