/*
 * 领导留言板 · 分析工作台 (route /analyst) — client side.
 *
 * - analystFormat: the tables' number formats, the same rules as
 *   dashboard/analyst/labels.py (fmt_int, fmt_pct, fmt_hours, fmt_per10k, fmt_yoy);
 * - copy(): puts the page's link (the whole view) on the clipboard;
 * - --analyst-zoom: on wide screens (a 4K monitor at 100%) the page is drawn
 *   larger so that text stays readable (the layout is designed for 1366–1920).
 * Nothing here fetches from the network.
 */
(function () {
  "use strict";

  function missing(v) { return v === null || v === undefined || (typeof v === "number" && isNaN(v)); }

  function group(text) {
    var parts = text.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".");
  }

  function fixed(v, digits) {
    var negative = v < 0;
    var text = group(Math.abs(v).toFixed(digits));
    return (negative && Number(Math.abs(v).toFixed(digits)) !== 0 ? "-" : "") + text;
  }

  function arrow(v, eps) { return v > eps ? "▲" : (v < -eps ? "▼" : "—"); }

  function format(v, kind, mode) {
    if (missing(v)) { return "—"; }
    if (mode === "diff") {
      if (kind === "pct") { return arrow(v, 0.00005) + " " + Math.abs(v * 100).toFixed(1) + (isEnglish() ? " pp" : "个百分点"); }
      if (kind === "hours") { return arrow(v, 0.05) + " " + fixed(Math.abs(v), 1) + (isEnglish() ? " h" : " 小时"); }
      if (kind === "per10k") { return (v > 0 ? "+" : "") + format(v, "per10k"); }
      if (kind === "int") { return (v > 0 ? "+" : "") + fixed(v, 0); }
    }
    switch (kind) {
      case "int": return fixed(v, 0);
      case "pct": return (v * 100).toFixed(1) + "%";
      case "hours": return fixed(v, 1);
      case "days": return fixed(v, 1);
      case "float": return fixed(v, 2);
      case "per10k": return Math.abs(v) >= 1 ? fixed(v, 2) : v.toFixed(3);
      case "yoy": return arrow(v, 0.0005) + " " + Math.abs(v * 100).toFixed(1) + "%";
      default: return String(v);
    }
  }

  function isEnglish() {
    var root = document.getElementById("analyst");
    return !!(root && root.classList.contains("lang-en"));
  }

  var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  dagfuncs.analystFormat = format;

  function copyByCommand(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).catch(function () { copyByCommand(text); });
    } else {
      copyByCommand(text);
    }
  }

  var original = null;
  window.liuyanAnalyst = {
    format: format,
    // Copy the page's link (the whole view); the button says so for a moment.
    copy: function (n, label) {
      var button = document.getElementById("analyst-copy");
      if (original === null) { original = label; }
      try { copyText(window.location.href); } catch (e) { /* the link stays in the address bar */ }
      window.setTimeout(function () {
        if (window.dash_clientside && window.dash_clientside.set_props) {
          window.dash_clientside.set_props("analyst-copy", {children: original});
        }
      }, 1600);
      return (button && button.getAttribute("data-done")) || original;
    },
  };

  // -- the map's GeoJSON: fetched once, before the first map figure arrives (plotly then reuses it); a map that was
  // drawn before it arrived is redrawn. Plotly's world topology is never fetched (empty, as assets/wall.js does).
  var EMPTY_TOPOLOGY = {type: "Topology", objects: {}, arcs: []};
  var geoAssets = (window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}});
  geoAssets.topojson = geoAssets.topojson || {};
  geoAssets.topojson.world_110m = geoAssets.topojson.world_110m || EMPTY_TOPOLOGY;
  geoAssets.topojson.world_50m = geoAssets.topojson.world_50m || EMPTY_TOPOLOGY;

  function prefetchGeo(url) {
    if (!url || geoAssets[url]) { return; }
    geoAssets[url] = "pending";
    window.fetch(url).then(function (response) {
      if (!response.ok) { throw new Error("GeoJSON " + response.status); }
      return response.json();
    }).then(function (data) { geoAssets[url] = data; }, function () {
      if (geoAssets[url] === "pending") { delete geoAssets[url]; }
    });
  }

  function watchMap() {
    var root = document.getElementById("analyst");
    if (!root) { return; }
    var url = root.getAttribute("data-geojson");
    prefetchGeo(url);
    var host = document.getElementById("analyst-map");
    var gd = host && host.querySelector(".js-plotly-plot");
    if (!gd || !gd.data || !gd.data.length || !window.Plotly || !host.offsetParent) { return; }
    if (gd.querySelector("path.choroplethlocation")) { return; }
    if (geoAssets[url] && geoAssets[url] !== "pending") { window.Plotly.react(gd, gd.data, gd.layout); }
  }
  window.setInterval(watchMap, 400);

  // Wide screens: scale the page (designed for 1366-1920 CSS px) so that a 4K monitor at 100% stays readable.
  function fit() {
    var zoom = Math.max(1, Math.min(2.5, window.innerWidth / 1920));
    document.documentElement.style.setProperty("--analyst-zoom", String(Math.round(zoom * 100) / 100));
  }
  window.addEventListener("resize", fit);
  fit();
})();
