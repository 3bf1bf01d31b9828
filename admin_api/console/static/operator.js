// Operator page: polls the console's metrics endpoint and draws an inline SVG chart.
// No framework: consecutive snapshots give per-second rates; the chart is two polylines.
"use strict";

(function () {
  var SVG_NS = "http://www.w3.org/2000/svg";
  var WIDTH = 600, HEIGHT = 180, PAD_TOP = 14, PAD_BOTTOM = 18, PAD_LEFT = 40;
  var MAX_POINTS = 60;

  var root, state, history = [], previous = null;

  function $(id) { return document.getElementById(id); }

  function fmtRate(value) {
    if (value >= 1000) { return (value / 1000).toFixed(1) + "k"; }
    return value >= 100 ? value.toFixed(0) : value.toFixed(1);
  }

  function fmtAxis(value) {
    return value >= 1000 ? (value / 1000) + "k" : String(Math.round(value * 10) / 10);
  }

  function fmtCount(value) { return Number(value || 0).toLocaleString("en"); }

  function fmtSeconds(value) {
    if (value === null || value === undefined) { return "—"; }
    if (value < 1) { return (value * 1000).toFixed(value < 0.01 ? 1 : 0) + " ms"; }
    return value.toFixed(2) + " s";
  }

  function rates(prev, cur) {
    var dt = cur.timestamp - prev.timestamp;
    if (!(dt > 0)) { return null; }
    var lookups = cur.l1_lookups - prev.l1_lookups;
    return {
      rps: Math.max(0, (cur.requests_total - prev.requests_total) / dt),
      eps: Math.max(0, (cur.errors_total - prev.errors_total) / dt),
      hit: lookups > 0 ? (cur.l1_hits - prev.l1_hits) / lookups : null
    };
  }

  function show(cur, rate) {
    $("fig-requests-total").textContent = fmtCount(cur.requests_total) + " since start";
    $("fig-errors-total").textContent = fmtCount(cur.errors_total) + " since start";
    $("fig-inval").textContent = fmtCount(cur.invalidations_total);
    $("fig-p99").textContent = fmtSeconds(cur.upstream_p99_seconds);
    var overall = cur.l1_lookups > 0 ? cur.l1_hits / cur.l1_lookups : null;
    var hit = rate && rate.hit !== null ? rate.hit : overall;
    $("fig-hit").textContent = hit === null ? "—" : (hit * 100).toFixed(1) + " %";
    $("fig-lookups").textContent = fmtCount(cur.l1_lookups) + " lookups since start";
    if (rate) {
      $("fig-rps").textContent = fmtRate(rate.rps);
      $("fig-eps").textContent = fmtRate(rate.eps);
    }
  }

  function el(name, attrs) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function niceMax(value) {
    if (value <= 1) { return 1; }
    var exp = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (value <= steps[i] * exp) { return steps[i] * exp; }
    }
    return 10 * exp;
  }

  function draw() {
    var svg = $("chart");
    while (svg.lastChild && svg.lastChild.nodeName !== "desc") { svg.removeChild(svg.lastChild); }
    var top = niceMax(history.reduce(function (m, p) { return Math.max(m, p.rps, p.eps); }, 0));
    var plotH = HEIGHT - PAD_TOP - PAD_BOTTOM, plotW = WIDTH - PAD_LEFT;
    [0, 0.5, 1].forEach(function (f) {
      var y = PAD_TOP + plotH * (1 - f);
      svg.appendChild(el("line", { x1: PAD_LEFT, x2: WIDTH, y1: y, y2: y, "class": "grid" }));
      var label = el("text", { x: PAD_LEFT - 6, y: y + 4, "class": "axis", "text-anchor": "end" });
      label.textContent = fmtAxis(top * f);
      svg.appendChild(label);
    });
    function points(key) {
      return history.map(function (p, i) {
        var x = PAD_LEFT + plotW * (MAX_POINTS - history.length + i) / (MAX_POINTS - 1);
        var y = PAD_TOP + plotH * (1 - p[key] / top);
        return x.toFixed(1) + "," + y.toFixed(1);
      }).join(" ");
    }
    if (history.length > 1) {
      svg.appendChild(el("polyline", { points: points("rps"), "class": "line line-req" }));
      svg.appendChild(el("polyline", { points: points("eps"), "class": "line line-err" }));
    }
    var last = history[history.length - 1];
    if (last) {
      svg.querySelector("desc").textContent = "Latest: " + fmtRate(last.rps) +
        " requests per second, " + fmtRate(last.eps) + " errors per second.";
    }
  }

  function setState(text, kind) {
    state.textContent = text;
    state.className = "live live-" + kind;
  }

  function poll() {
    fetch(root.getAttribute("data-metrics-url"), {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 401) { window.location.reload(); throw new Error("signed out"); }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (cur) {
      var rate = previous ? rates(previous, cur) : null;
      previous = cur;
      show(cur, rate);
      if (rate) {
        history.push(rate);
        if (history.length > MAX_POINTS) { history.shift(); }
        draw();
      }
      setState("Live · updated " + new Date(cur.timestamp * 1000).toLocaleTimeString(), "ok");
    }).catch(function (err) {
      setState("Cannot reach the gateway (" + err.message + "); retrying…", "error");
    }).finally(schedule);
  }

  function schedule() {
    window.setTimeout(poll, Number(root.getAttribute("data-interval")) || 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = $("operator");
    state = $("live-state");
    if (!root) { return; }
    draw();
    poll();
  });
})();
