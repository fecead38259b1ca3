// Analyst workspace on a scale-out web process: say how fresh the snapshot it answers from is.
// /scale/status exists only on `python app.py web`; elsewhere (one process, live data) this does nothing.
(function () {
  "use strict";
  var badge = null;

  function text(status) {
    var en = /[?&]lang=en\b/.test(window.location.search);
    var when = (status.snapshot && status.snapshot.updated_at) || "—";
    return en ? "Data snapshot · as of " + when + " (Beijing)" : "数据快照 · 截至北京时间 " + when;
  }

  function show(status) {
    if (!badge) {
      badge = document.createElement("div");
      badge.id = "scale-freshness";
      badge.setAttribute("role", "status");
      badge.style.cssText = "position:fixed;right:12px;bottom:8px;z-index:1000;padding:3px 10px;border-radius:4px;" +
        "font-size:12px;color:#cfe8ff;background:rgba(15,42,87,0.9);border:1px solid rgba(120,180,255,0.35)";
      document.body.appendChild(badge);
    }
    badge.textContent = text(status);
  }

  function poll() {
    if (window.location.pathname.indexOf("/analyst") !== 0) {
      if (badge) { badge.remove(); badge = null; }
      return;
    }
    window.fetch("/scale/status", {cache: "no-store"}).then(function (response) {
      if (response.status === 404) { window.clearInterval(timer); return null; }
      return response.ok ? response.json() : null;
    }).then(function (status) { if (status) { show(status); } }, function () {});
  }

  var timer = window.setInterval(poll, 10000);
  window.addEventListener("load", poll);
})();
