/* The map page (一图览全域): grid polygons with their figures, and the case and risk layers, from
   /map/layers.json in the coordinate system of the base map (GCJ-02 for Chinese tiles, else
   WGS-84). Leaflet is vendored (static/vendor/leaflet): the page works offline, with no tiles. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var d = el.dataset;
  var status = document.getElementById("map-status");
  var legend = document.getElementById("map-legend");
  var map = L.map(el, { zoomSnap: 0.25, preferCanvas: false });
  if (d.tileUrl) {
    L.tileLayer(d.tileUrl, {
      subdomains: d.tileSubdomains || "abc", attribution: d.tileAttribution || "", maxZoom: 19
    }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }
  var COLOURS = {
    "events": "#1f6feb", "hazards-general": "#d4a017", "hazards-major": "#d1242f",
    "major": "#8250df", "risk-major": "#a40e26", "risk-significant": "#e16f24",
    "risk-general": "#d4a72c", "risk-low": "#2da44e"
  };
  var groups = {};
  Object.keys(COLOURS).forEach(function (k) { groups[k] = L.layerGroup(); });
  var grids = L.geoJSON(null, { style: gridStyle, onEachFeature: gridTip });
  grids.addTo(map);
  var byCode = {};
  var colourBy = "none";
  var breaks = [];
  var first = true;

  function checked(name) {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="' + name + '"]'));
  }
  function value(f) {
    var v = f.properties[colourBy];
    return v === null || v === undefined ? null : Number(v);
  }
  var REDS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  var RATE = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"];
  function fillOf(v) {
    if (colourBy === "none") { return "#9ec5fe"; }
    if (v === null) { return "#d0d0d0"; }
    if (colourBy === "closure_rate") { return RATE[Math.min(4, Math.floor(v * 5))]; }
    for (var i = 0; i < breaks.length; i++) { if (v <= breaks[i]) { return REDS[i]; } }
    return REDS[REDS.length - 1];
  }
  function gridStyle(f) {
    return {
      className: "grid-shape grid-" + f.properties.code,
      color: "#3d5a80", weight: 1.5, fillOpacity: colourBy === "none" ? 0.25 : 0.7,
      fillColor: fillOf(value(f))
    };
  }
  function text(tag, content, cls) {
    var n = document.createElement(tag);
    n.textContent = content;
    if (cls) { n.className = cls; }
    return n;
  }
  function pct(v) { return v === null || v === undefined ? d.tNoRate : (v * 100).toFixed(1) + "%"; }
  function gridTip(f, layer) {
    var p = f.properties;
    byCode[p.code] = layer;
    var box = document.createElement("div");
    box.appendChild(text("strong", p.name));
    box.appendChild(text("div", d.tOpen + " " + p.open + " · " + d.tOverdue + " " + p.overdue));
    box.appendChild(text("div", d.tClosure_rate + " " + pct(p.closure_rate)));
    layer.bindTooltip(box, { sticky: true });
  }
  function computeBreaks(features) {
    var vals = features.map(value).filter(function (v) { return v !== null; });
    var max = Math.max.apply(null, vals.concat([0]));
    breaks = [];
    if (max <= 0) { breaks = [0]; return; }
    for (var i = 1; i <= 5; i++) { breaks.push(Math.ceil(max * i / 5)); }
    breaks = breaks.filter(function (b, i) { return i === 0 || b > breaks[i - 1]; });
  }
  function drawLegend(features) {
    legend.textContent = "";
    if (colourBy === "none") { legend.hidden = true; return; }
    legend.hidden = false;
    legend.appendChild(text("strong", d["t" + colourBy.charAt(0).toUpperCase() + colourBy.slice(1)]));
    var rows = [];
    if (colourBy === "closure_rate") {
      RATE.forEach(function (c, i) { rows.push([c, (i * 20) + "–" + ((i + 1) * 20) + "%"]); });
    } else {
      var low = 0;
      breaks.forEach(function (b, i) { rows.push([REDS[i], (low === b ? b : low + "–" + b)]); low = b + 1; });
    }
    rows.push(["#d0d0d0", d.tNoRate]);
    rows.forEach(function (r) {
      var line = document.createElement("div");
      line.className = "legend-row";
      var sw = text("span", "", "swatch");
      sw.style.background = r[0];
      line.appendChild(sw);
      line.appendChild(text("span", " " + r[1]));
      legend.appendChild(line);
    });
  }
  function recolour() {
    var features = [];
    grids.eachLayer(function (l) { features.push(l.feature); });
    computeBreaks(features);
    grids.setStyle(gridStyle);
    drawLegend(features);
    el.setAttribute("data-colour", colourBy);
  }
  function pointLayer(key, f) {
    var p = f.properties;
    var c = f.geometry.coordinates;
    var m = L.circleMarker([c[1], c[0]], {
      radius: key === "major" ? 9 : 6, color: p.overdue ? "#000" : "#fff", weight: p.overdue ? 2 : 1,
      fillColor: COLOURS[key], fillOpacity: 0.9, className: "pt pt-" + key
    });
    var box = document.createElement("div");
    if (p.id) {
      var a = text("a", p.number + " " + p.title);
      a.href = "/cases/" + p.id;
      box.appendChild(a);
    } else {
      box.appendChild(text("strong", p.name));
    }
    m.bindPopup(box);
    groups[key].addLayer(m);
  }
  function home(bounds) {
    var code = d.homeGrid || (window.innerWidth < 700 ? d.ownGrid : "");
    var layer = code && byCode[code];
    if (layer) {
      map.fitBounds(layer.getBounds(), { padding: [12, 12] });
      el.setAttribute("data-centred", code);
    } else if (bounds && bounds.isValid()) {
      map.fitBounds(bounds, { padding: [12, 12] });
      el.setAttribute("data-centred", "all");
    } else {
      map.setView([22.55, 114.12], 12);
      el.setAttribute("data-centred", "none");
    }
  }
  function toggles() {
    checked("layer").forEach(function (box) {
      if (box.checked) { groups[box.value].addTo(map); } else { map.removeLayer(groups[box.value]); }
    });
  }
  function load() {
    var q = ["crs=" + encodeURIComponent(d.crs)];
    ["grids", "events", "hazards", "major", "risks"].forEach(function (l) { q.push("layer=" + l); });
    var state = document.getElementById("map-state").value;
    var overdue = document.getElementById("map-overdue").value;
    if (state) { q.push("state=" + encodeURIComponent(state)); }
    if (overdue) { q.push("overdue=" + overdue); }
    el.setAttribute("data-loaded", "no");
    fetch(d.layersUrl + "?" + q.join("&"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        var L_ = data.layers;
        grids.clearLayers();
        byCode = {};
        grids.addData(L_.grids);
        Object.keys(groups).forEach(function (k) { groups[k].clearLayers(); });
        L_.events.features.forEach(function (f) { pointLayer("events", f); });
        L_.hazards.features.forEach(function (f) {
          pointLayer(f.properties.grade === "major" ? "hazards-major" : "hazards-general", f);
        });
        L_.major.features.forEach(function (f) { pointLayer("major", f); });
        L_.risks.features.forEach(function (f) { pointLayer("risk-" + f.properties.level, f); });
        recolour();
        toggles();
        if (first) { home(grids.getBounds()); first = false; }
        var unplaced = L_.events.unplaced + L_.hazards.unplaced + L_.major.unplaced + L_.risks.unplaced;
        var period = L_.grids.period;
        var parts = [];
        if (!L_.grids.features.length) { parts.push(d.tNoGrids); }
        if (period) { parts.push(d.tPeriod.replace("{start}", period.from).replace("{end}", period.to)); }
        if (unplaced) { parts.push(d.tUnplaced.replace("{n}", unplaced)); }
        status.textContent = parts.join(" · ");
        el.setAttribute("data-loaded", "yes");
      })
      .catch(function () { status.textContent = d.tFailed; el.setAttribute("data-loaded", "failed"); });
  }
  checked("layer").forEach(function (b) { b.addEventListener("change", toggles); });
  checked("colour").forEach(function (b) {
    b.addEventListener("change", function () { if (b.checked) { colourBy = b.value; recolour(); } });
  });
  document.getElementById("map-state").addEventListener("change", load);
  document.getElementById("map-overdue").addEventListener("change", load);
  var h = document.getElementById("map-home");
  if (h) {
    h.addEventListener("click", function () {
      var layer = byCode[d.ownGrid];
      if (layer) { map.fitBounds(layer.getBounds()); el.setAttribute("data-centred", d.ownGrid); }
    });
    document.getElementById("map-all").addEventListener("click", function () {
      map.fitBounds(grids.getBounds()); el.setAttribute("data-centred", "all");
    });
  }
  load();
})();
