/*
 * 领导留言板智慧大屏 — client side of the wall (dashboard/wall).
 *
 * - presets plotly's world topology so that plotly never asks a CDN for it;
 * - scales the 1920x1080 canvas uniformly to any window;
 * - live Beijing clock (corrected by the server's Date header);
 * - rolling (animated) KPI numbers, the scrolling live feed, data freshness;
 * - a discreet indicator when refreshes fail or are slow (the last good
 *   picture stays), recovery after a server restart, and a full reload every
 *   few hours (only when the server answers, so a kiosk never lands on an
 *   error page).
 * Component ids and labels come from the WALL_CONFIG store (dashboard/ids.py).
 * Text from the server is always inserted with textContent (never as HTML).
 */
(function () {
  "use strict";

  // -- plotly: empty world topology, the map's geometry comes from /geo/ ----------------------------------------
  var EMPTY_TOPOLOGY = {type: "Topology", objects: {}, arcs: []};
  window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};
  window.PlotlyGeoAssets.topojson = window.PlotlyGeoAssets.topojson || {};
  window.PlotlyGeoAssets.topojson.world_110m = EMPTY_TOPOLOGY;
  window.PlotlyGeoAssets.topojson.world_50m = EMPTY_TOPOLOGY;

  var DESIGN_W = 1920, DESIGN_H = 1080;
  var BEIJING_OFFSET = 8 * 3600 * 1000;

  var S = {
    config: null,
    skew: 0,               // server clock minus browser clock, ms
    lastOk: Date.now(),    // last refresh answered by the server
    lastError: 0,          // last refresh that failed on the server (on_error)
    failStreak: 0,
    outageSince: 0,
    updatedAt: undefined,  // epoch ms of the last committed write (null: none yet; undefined: not known yet)
    feedKeys: {},
    started: false,
    reloading: false,
    painted: false,
  };
  window.liuyanWall = S;

  // -- canvas scaling ----------------------------------------------------------------------------------------------
  function fit() {
    var scale = Math.min(window.innerWidth / DESIGN_W, window.innerHeight / DESIGN_H);
    document.documentElement.style.setProperty("--wall-scale", String(scale > 0 ? scale : 1));
  }
  window.addEventListener("resize", fit);
  fit();

  // -- watch the refresh requests: status, clock skew, recovery ---------------------------------------------------
  var nativeFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    var pending = nativeFetch(input, init);
    if (url.indexOf("_dash-update-component") === -1) {
      return pending;
    }
    return pending.then(function (response) {
      noteResponse(response);
      return response;
    }, function (error) {
      noteFailure();
      throw error;
    });
  };

  function noteResponse(response) {
    var date = response.headers.get("Date");
    if (date) {
      var server = Date.parse(date);
      if (!isNaN(server)) {
        var skew = server + 500 - Date.now();
        if (Math.abs(skew - S.skew) > 1500) { S.skew = skew; }
      }
    }
    if (response.ok) {
      if (S.outageSince && Date.now() - S.outageSince > 20000) {
        reloadWhenServing();      // back after a real outage: start clean (new code, new data file)
      }
      S.lastOk = Date.now();
      S.failStreak = 0;
      S.outageSince = 0;
    } else {
      noteFailure();
    }
    renderStatus();
  }

  function noteFailure() {
    S.failStreak += 1;
    if (!S.outageSince) { S.outageSince = Date.now(); }
    renderStatus();
  }

  function serverNow() { return Date.now() + S.skew; }

  function reloadWhenServing() {
    if (S.reloading) { return; }
    S.reloading = true;
    nativeFetch(window.location.href, {cache: "no-store"}).then(function (response) {
      if (response.ok) {
        window.location.reload();
      } else {
        S.reloading = false;
      }
    }, function () { S.reloading = false; });
  }

  // -- helpers ------------------------------------------------------------------------------------------------------
  function byId(id) { return id ? document.getElementById(id) : null; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function label(key) { return (S.config && S.config.labels && S.config.labels[key]) || ""; }

  function beijingParts(ms) {
    var d = new Date(ms + BEIJING_OFFSET);
    return {y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate(), H: d.getUTCHours(),
            M: d.getUTCMinutes(), s: d.getUTCSeconds(), w: d.getUTCDay()};
  }

  function parseBeijing(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(text || "");
    if (!m) { return null; }
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) - BEIJING_OFFSET;
  }

  function setText(el, text) {
    if (el && el.textContent !== text) { el.textContent = text; }
  }

  // -- clock, date, freshness, status (every second) ---------------------------------------------------------------
  var WEEKDAYS_ZH = ["日", "一", "二", "三", "四", "五", "六"];
  var WEEKDAYS_EN = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function tick() {
    if (!S.config) { return; }
    var ids = S.config.ids, p = beijingParts(serverNow());
    setText(byId(ids.clock), pad(p.H) + ":" + pad(p.M) + ":" + pad(p.s));
    var date = S.config.lang === "en"
      ? WEEKDAYS_EN[p.w] + " " + p.d + " " + MONTHS_EN[p.m - 1] + " " + p.y
      : p.y + "年" + p.m + "月" + p.d + "日  星期" + WEEKDAYS_ZH[p.w];
    setText(byId(ids.date), date);
    renderFreshness();
    renderStatus();
  }

  function renderFreshness() {
    var el = byId(S.config && S.config.ids.freshness);
    if (!el || S.updatedAt === undefined) { return; }
    if (S.updatedAt === null) {                       // nothing written yet (empty database)
      setText(el, label("updated_at") + " —");
      el.className = "freshness none";
      return;
    }
    var p = beijingParts(S.updatedAt), now = beijingParts(serverNow());
    var when = pad(p.H) + ":" + pad(p.M) + ":" + pad(p.s);
    if (p.y !== now.y || p.m !== now.m || p.d !== now.d) {
      when = (p.y !== now.y ? p.y + "-" : "") + pad(p.m) + "-" + pad(p.d) + " " + when;
    }
    setText(el, label("updated_at") + " " + when);
    var age = (serverNow() - S.updatedAt) / 1000;
    var level = age >= S.config.stale_red ? "stale-red" : age >= S.config.stale_amber ? "stale-amber" : "fresh";
    if (el.getAttribute("data-level") !== level) {
      el.setAttribute("data-level", level);
      el.className = "freshness " + level;
    }
  }

  function renderStatus() {
    var el = byId(S.config && S.config.ids.status);
    if (!el) { return; }
    // pushed walls hear from the server at least every ping (5 s), polled ones every interval
    var interval = (P.open ? 6 : S.config.interval) * 1000, age = Date.now() - S.lastOk, state, text;
    if (S.failStreak > 0) {
      state = "offline"; text = label("status_offline");
    } else if (S.lastError > S.lastOk - 50) {
      state = "error"; text = label("status_error");
    } else if (age > Math.max(2.5 * interval, 10000)) {
      state = "slow"; text = label("status_slow");
    } else {
      state = "live"; text = label("status_live");
    }
    setText(el, text);
    if (el.getAttribute("data-state") !== state) {
      el.setAttribute("data-state", state);
      el.className = "status status-" + state;
    }
  }

  function watchdog() {
    // Requests stopped succeeding for a long time (renderer stuck, server restarted with new code):
    // reload, but only once the server serves the page again.
    if (!S.config) { return; }
    var limit = Math.max(60000, 10 * S.config.interval * 1000);
    if (Date.now() - S.lastOk > limit) { reloadWhenServing(); }
  }

  function scheduleReload(hours) {
    if (!(hours > 0)) { return; }
    var delay = hours * 3600 * 1000 + Math.random() * 60000;   // spread many screens over a minute
    window.setTimeout(function retry() {
      reloadWhenServing();
      window.setTimeout(retry, 60000);                          // server down: try again later
    }, delay);
  }

  // -- rolling numbers ---------------------------------------------------------------------------------------------
  function formatValue(value, format) {
    if (value === null || value === undefined || typeof value !== "number" || isNaN(value)) { return "—"; }
    if (format === "pct") { return (value * 100).toFixed(1) + "%"; }
    if (format === "hours") { return value.toFixed(1); }
    return Math.round(value).toLocaleString("en-US");
  }

  function roll(el, target) {
    var format = el.getAttribute("data-format") || "int";
    if (el._anim) { window.cancelAnimationFrame(el._anim); el._anim = null; }
    var valid = typeof target === "number" && !isNaN(target);
    var from = typeof el._value === "number" ? el._value : (valid && format === "int" ? 0 : null);
    el._target = valid ? target : null;
    if (!valid || from === null || from === target || document.hidden) {
      el._value = valid ? target : null;
      setText(el, formatValue(el._value, format));
      return;
    }
    var start = null, duration = el._value === undefined ? 1600 : 1100;
    el.classList.add("rolling");
    function step(now) {
      if (start === null) { start = now; }
      var t = Math.min(1, (now - start) / duration), eased = 1 - Math.pow(1 - t, 3);
      var current = from + (target - from) * eased;
      el._value = t >= 1 ? target : current;
      setText(el, formatValue(el._value, format));
      if (t < 1) {
        el._anim = window.requestAnimationFrame(step);
      } else {
        el._anim = null;
        el.classList.remove("rolling");
      }
    }
    el._anim = window.requestAnimationFrame(step);
  }

  function renderYoy(el, value) {
    if (!el) { return; }
    var text, cls;
    if (typeof value !== "number" || isNaN(value)) {
      text = "—"; cls = "flat";
    } else {
      var pct = (Math.abs(value) * 100).toFixed(1) + "%";
      if (value > 0.0005) { text = "▲ " + pct; cls = "up"; }
      else if (value < -0.0005) { text = "▼ " + pct; cls = "down"; }
      else { text = "— 0.0%"; cls = "flat"; }
    }
    setText(el, text);
    el.className = "kpi-yoy " + cls;
  }

  // -- live feed ---------------------------------------------------------------------------------------------------
  var feedTimer = null;

  function feedRow(key, item, fresh) {
    var row = document.createElement("div");
    row.className = "feed-item feed-" + (item.k === "r" ? "reply" : "message") + (fresh ? " is-new" : "");
    row.setAttribute("data-key", key);
    var top = document.createElement("div");
    top.className = "feed-top";
    var badge = document.createElement("span");
    badge.className = "feed-badge";
    badge.textContent = item.k === "r" ? label("feed_reply") : label("feed_message");
    var time = document.createElement("span");
    time.className = "feed-time";
    time.textContent = item.t || "";
    var place = document.createElement("span");
    place.className = "feed-place";
    place.textContent = item.p || "";
    top.appendChild(badge);
    top.appendChild(time);
    top.appendChild(place);
    [item.c, item.y].forEach(function (tag) {
      if (!tag) { return; }
      var span = document.createElement("span");
      span.className = "feed-tag";
      span.textContent = tag;
      top.appendChild(span);
    });
    var title = document.createElement("div");
    title.className = "feed-title";
    title.textContent = item.s || "";
    title.title = item.s || "";
    row.appendChild(top);
    row.appendChild(title);
    return row;
  }

  function renderFeed(data) {
    var host = byId(S.config && S.config.ids.feed);
    if (!host || !data || !data.order) { return; }
    var track = host.firstElementChild;
    if (!track || !track.classList.contains("feed-track")) {
      track = document.createElement("div");
      track.className = "feed-track";
      host.textContent = "";
      host.appendChild(track);
    }
    var first = Object.keys(S.feedKeys).length === 0, seen = {};
    track.style.transition = "none";
    track.style.transform = "translateY(0)";
    track.textContent = "";
    data.order.forEach(function (key) {
      var item = data.items[key];
      if (!item) { return; }
      track.appendChild(feedRow(key, item, !first && !S.feedKeys[key]));
      seen[key] = true;
    });
    if (!data.order.length) {
      var empty = document.createElement("div");
      empty.className = "feed-empty";
      empty.textContent = label("feed_empty");
      track.appendChild(empty);
    }
    S.feedKeys = seen;
    if (!feedTimer) { feedTimer = window.setInterval(scrollFeed, 3200); }
  }

  function scrollFeed() {
    var host = byId(S.config && S.config.ids.feed);
    var track = host && host.firstElementChild;
    if (!track || !track.firstElementChild || document.hidden) { return; }
    if (track.scrollHeight <= host.clientHeight + 4) { return; }   // all visible: nothing to scroll
    var row = track.firstElementChild, height = row.offsetHeight;
    track.style.transition = "transform 0.7s ease-in-out";
    track.style.transform = "translateY(-" + height + "px)";
    window.setTimeout(function () {
      if (row.parentNode === track) {
        track.style.transition = "none";
        row.classList.remove("is-new");
        track.appendChild(row);
        track.style.transform = "translateY(0)";
      }
    }, 760);
  }

  // -- push (scale-out web process): new versions arrive over a WebSocket, polling is the fallback ----------------
  // /push/hello answers only on a web process (python app.py web); elsewhere the wall just polls.
  var P = {hello: null, ws: null, open: false, view: null, sent: null, failures: 0, moving: false};
  S.push = P;

  function startPush() {
    nativeFetch("/push/hello", {cache: "no-store"}).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (hello) {
      if (hello && hello.ws) { P.hello = hello; connectPush(); window.setInterval(pingPush, 5000); }
    }, function () {});
  }

  function connectPush() {
    if (P.ws || !P.hello) { return; }
    var ws;
    try {
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + P.hello.ws);
    } catch (e) { retryPush(); return; }
    P.ws = ws;
    ws.onopen = function () {
      P.open = true; P.failures = 0; P.sent = null;
      setPolling(false);
      sendView();
    };
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      S.lastOk = Date.now(); S.failStreak = 0; S.outageSince = 0;
      if (msg.o) { applyPush(msg); }
      renderStatus();
    };
    ws.onclose = function () {
      P.ws = null; P.open = false;
      setPolling(true);
      P.failures += 1;
      retryPush();
    };
  }

  function retryPush() {
    if (P.failures >= 2) { moveToPeer(); }
    window.setTimeout(connectPush, Math.min(10000, 400 * P.failures) + Math.random() * 400);
  }

  // This web process is gone (no nginx in front to pick another): load the wall from a peer that answers.
  function moveToPeer() {
    var peers = (P.hello && P.hello.peers) || [];
    if (P.moving || !peers.length) { return; }
    P.moving = true;
    nativeFetch("/push/hello", {cache: "no-store"}).then(function (response) {
      if (!response.ok) { throw new Error("down"); }
      P.moving = false;                       // ours still answers: keep reconnecting to it
    }).catch(function () {
      var others = peers.filter(function (p) { return p !== location.origin; });
      var tryPeer = function (i) {
        if (i >= others.length) { P.moving = false; return; }
        nativeFetch(others[i] + "/push/hello", {cache: "no-store", mode: "cors"}).then(function (response) {
          if (!response.ok) { throw new Error("down"); }
          location.href = others[i] + location.pathname + location.search;
        }).catch(function () { tryPeer(i + 1); });
      };
      tryPeer(0);
    });
  }

  function setPolling(on) {
    if (P.hello && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(P.hello.tick, {disabled: !on});
    }
  }

  function sendView() {
    if (!P.open || !P.view || !S.config || P.sent === P.view.token) { return; }
    P.sent = P.view.token;
    P.ws.send(JSON.stringify({period: S.config.period, lang: S.config.lang, metric: P.view.metric,
                              token: P.view.token}));
  }

  function pingPush() {
    if (P.open) { P.ws.send('{"ping":1}'); }
  }

  function applyPush(msg) {
    var setProps = window.dash_clientside.set_props;
    msg.o.forEach(function (item) {
      var props = {};
      props[item[1]] = item[2];
      setProps(item[0], props);
    });
    P.view = {token: msg.t, metric: msg.m};
    P.sent = msg.t;
    setProps(P.hello.state, {data: {token: msg.t, metric: msg.m}});
    S.pushed = (S.pushed || 0) + 1;
  }

  // -- Dash clientside callbacks -----------------------------------------------------------------------------------
  // The map's GeoJSON, fetched as soon as the screen knows its URL (before the first figure arrives). Plotly
  // waits for a 'pending' URL instead of fetching it again; a map drawn without it is redrawn once it is here.
  function prefetchGeo(url) {
    var assets = window.PlotlyGeoAssets;
    if (!url || assets[url]) { return; }
    assets[url] = "pending";
    nativeFetch(url).then(function (response) {
      if (!response.ok) { throw new Error("GeoJSON " + response.status); }
      return response.json();
    }).then(function (data) {
      assets[url] = data;
    }, function () {
      if (assets[url] === "pending") { delete assets[url]; }
    });
  }

  function healMap() {
    var assets = window.PlotlyGeoAssets;
    var host = byId(S.config && S.config.ids.map), gd = host && host.querySelector(".js-plotly-plot");
    if (!gd || !gd.data || !gd.data.length || !window.Plotly) { return; }
    // the national map or a province's cities (carousel, province wall): the URL the figure names
    var url = typeof gd.data[0].geojson === "string" ? gd.data[0].geojson : S.config.geojson_url;
    if (gd.querySelector("path.choroplethlocation")) { return; }
    if (assets[url] && assets[url] !== "pending") {
      window.Plotly.react(gd, gd.data, gd.layout);
    } else if (!assets[url]) {
      prefetchGeo(url);
    }
  }

  function start(config) {
    if (!config) { return; }
    S.config = config;
    prefetchGeo(config.geojson_url);
    if (!S.started) {
      S.started = true;
      fit();
      window.setInterval(healMap, 5000);
      window.setInterval(tick, 1000);
      window.setInterval(watchdog, 15000);
      scheduleReload(config.reload_hours);
      tick();
      startPush();
    }
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.liuyanWall = {
    init: function (config) {
      start(config);
      return window.dash_clientside.no_update;
    },
    kpi: function (data, config) {
      start(config);
      if (!data || !config) { return window.dash_clientside.no_update; }
      Object.keys(config.ids.kpi).forEach(function (name) {
        var el = byId(config.ids.kpi[name]);
        if (el && Object.prototype.hasOwnProperty.call(data, name) && el._target !== data[name]) {
          roll(el, data[name]);
        }
      });
      Object.keys(config.ids.yoy).forEach(function (name) {
        renderYoy(byId(config.ids.yoy[name]), data[name + "_yoy"]);
      });
      S.painted = true;
      return window.dash_clientside.no_update;
    },
    feed: function (data, config) {
      start(config);
      renderFeed(data);
      return window.dash_clientside.no_update;
    },
    meta: function (meta, config) {
      start(config);
      if (meta) {
        S.updatedAt = meta.updated_at ? parseBeijing(meta.updated_at) : null;
        renderFreshness();
      }
      return window.dash_clientside.no_update;
    },
    state: function (state) {
      if (state && state.token && state.metric) {
        P.view = {token: state.token, metric: state.metric};
        sendView();
      }
      return window.dash_clientside.no_update;
    },
    error: function (error) {
      if (error && error.t) {
        S.lastError = Date.now();
        renderStatus();
      }
      return window.dash_clientside.no_update;
    },
  };
})();
