/* The place of a new demand: a map without tiles (it works offline) showing the community's
   buildings as squares; a click sets the latitude and longitude fields (WGS-84), choosing a
   building moves the point to it. Leaflet comes from the app's own static files. */
(function () {
  "use strict";
  var el = document.getElementById("picker");
  if (!el || !window.L) { return; }
  var latInput = document.getElementById("d-lat"), lonInput = document.getElementById("d-lon");
  var select = document.getElementById("d-building");
  var buildings = JSON.parse(el.dataset.buildings || "[]").filter(function (b) {
    return b.lat !== null && b.lon !== null;
  });
  var lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
  if (isNaN(lat) || isNaN(lon)) {
    lat = buildings.length ? buildings[0].lat : 34.7466;
    lon = buildings.length ? buildings[0].lon : 113.6253;
  }
  var map = L.map(el, { attributionControl: false, keyboard: true }).setView([lat, lon], 16);
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  buildings.forEach(function (b) {
    var icon = L.divIcon({ className: "building-square", html: "■", iconSize: [14, 14] });
    L.marker([b.lat, b.lon], { icon: icon, title: b.label }).addTo(map).bindTooltip(b.label);
  });
  if (buildings.length > 1) {
    map.fitBounds(buildings.map(function (b) { return [b.lat, b.lon]; }), { padding: [20, 20] });
  }
  var point = L.circleMarker([lat, lon], { radius: 8, color: "#c0392b", fillOpacity: 0.8 }).addTo(map);
  var set = function (p) {
    point.setLatLng(p);
    latInput.value = p.lat.toFixed(6);
    lonInput.value = p.lng.toFixed(6);
  };
  map.on("click", function (e) { set(e.latlng); });
  if (select) {
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      var bLat = parseFloat(option.dataset.lat), bLon = parseFloat(option.dataset.lon);
      if (!isNaN(bLat) && !isNaN(bLon)) { set(L.latLng(bLat, bLon)); map.panTo([bLat, bLon]); }
    });
  }
}());
