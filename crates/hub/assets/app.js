// osprey-hub web UI: plain JavaScript, no build step. Every count and time bucket is
// computed by the server; this script only asks for them and draws SVG.
(function () {
  "use strict";
  var FIELDS = ["since", "priority", "rule", "source", "hostname", "tags", "filter"];
  var PRIORITIES = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"];
  var COLORS = {
    Emergency: "#6a1b9a", Alert: "#ad1457", Critical: "#c62828", Error: "#e65100",
    Warning: "#f9a825", Notice: "#2e7d32", Informational: "#1565c0", Debug: "#607d8b"
  };
  var PALETTE = ["#2456c7", "#e65100", "#2e7d32", "#ad1457", "#00838f", "#6a1b9a", "#f9a825", "#5d4037", "#546e7a", "#c62828"];
  var SVGNS = "http://www.w3.org/2000/svg";
  var form = document.getElementById("filters");
  var timer = null;
  var loading = 0;

  function $(id) { return document.getElementById(id); }

  function state() {
    var q = new URLSearchParams(location.search);
    var s = {};
    FIELDS.forEach(function (f) { s[f] = q.has(f) ? q.get(f) : (f === "since" ? "24h" : ""); });
    s.page = Math.max(1, parseInt(q.get("page") || "1", 10) || 1);
    s.limit = parseInt(q.get("limit") || "50", 10) || 50;
    return s;
  }

  function setState(s, push) {
    var q = new URLSearchParams();
    FIELDS.forEach(function (f) { if (s[f] || (f === "since" && s[f] === "")) q.set(f, s[f]); });
    if (s.page > 1) q.set("page", String(s.page));
    if (s.limit !== 50) q.set("limit", String(s.limit));
    var url = location.pathname + "?" + q.toString() + location.hash;
    if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
    load();
  }

  function query(s, extra) {
    var q = new URLSearchParams();
    FIELDS.forEach(function (f) { if (s[f]) q.set(f, s[f]); });
    Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
    return q.toString();
  }

  function api(path, s, extra) {
    loading++;
    return fetch(path + "?" + query(s, extra), { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(path + ": HTTP " + r.status);
      return r.json();
    }).finally(function () { loading--; });
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function color(key, i) { return COLORS[key] || PALETTE[i % PALETTE.length]; }

  function addFilter(field, value) {
    var s = state();
    var cur = s[field] ? s[field].split(",") : [];
    if (cur.indexOf(value) < 0) cur.push(value);
    s[field] = cur.join(",");
    s.page = 1;
    fillForm(s);
    setState(s, true);
  }

  // Horizontal bar chart of {key: count}; a click on a bar filters by that key.
  function barChart(target, field, results) {
    var box = $(target);
    box.textContent = "";
    var rows = Object.keys(results || {}).map(function (k) { return [k, results[k]]; });
    rows.sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); });
    rows = rows.slice(0, 15);
    if (!rows.length) { box.appendChild(el("p", { "class": "empty" }, "no events")); return; }
    var max = rows[0][1], rowH = 22, labelW = 190, width = 560;
    var root = svg("svg", { viewBox: "0 0 " + width + " " + (rows.length * rowH + 4), role: "img", "data-field": field });
    rows.forEach(function (r, i) {
      var g = svg("g", { "class": "bar-row", "data-key": r[0], "data-count": String(r[1]), transform: "translate(0," + (i * rowH) + ")" });
      var label = r[0].length > 30 ? r[0].slice(0, 29) + "…" : r[0];
      g.appendChild(svg("text", { x: labelW - 6, y: 15, "text-anchor": "end" }, label));
      var w = Math.max(2, (width - labelW - 70) * r[1] / max);
      g.appendChild(svg("rect", { "class": "bar", x: labelW, y: 3, width: w, height: rowH - 6, rx: 3, fill: color(r[0], i) }));
      g.appendChild(svg("text", { x: labelW + w + 6, y: 15 }, String(r[1])));
      var title = svg("title", {}, r[0] + ": " + r[1]);
      g.appendChild(title);
      g.addEventListener("click", function () { addFilter(field, r[0]); });
      root.appendChild(g);
    });
    box.appendChild(root);
  }

  // Stacked columns per time bucket.
  function timelineChart(data) {
    var box = $("chart-timeline");
    box.textContent = "";
    var buckets = data.buckets || [];
    var step = data.bucket_ms, start = Math.floor(data.since_ms / step) * step, end = data.now_ms;
    var n = Math.max(1, Math.ceil((end - start) / step));
    var byT = {}, keys = {}, max = 1;
    buckets.forEach(function (b) {
      byT[b.t] = b.counts;
      var total = 0;
      Object.keys(b.counts).forEach(function (k) { keys[k] = (keys[k] || 0) + b.counts[k]; total += b.counts[k]; });
      if (total > max) max = total;
    });
    var keyList = Object.keys(keys).sort(function (a, b) {
      var pa = PRIORITIES.indexOf(a), pb = PRIORITIES.indexOf(b);
      if (pa >= 0 && pb >= 0) return pa - pb;
      return keys[b] - keys[a];
    });
    var W = 1000, H = 200, left = 40, bottom = 20, colW = (W - left) / n;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + (H + bottom + 24), role: "img" });
    root.appendChild(svg("line", { "class": "axis", x1: left, y1: H, x2: W, y2: H }));
    root.appendChild(svg("text", { x: left - 4, y: 10, "text-anchor": "end" }, String(max)));
    root.appendChild(svg("text", { x: left - 4, y: H, "text-anchor": "end" }, "0"));
    for (var i = 0; i < n; i++) {
      var t = start + i * step, counts = byT[t], y = H;
      if (counts) {
        keyList.forEach(function (k, ki) {
          var c = counts[k] || 0;
          if (!c) return;
          var h = (H - 12) * c / max;
          y -= h;
          var r = svg("rect", { x: left + i * colW + 1, y: y, width: Math.max(1, colW - 2), height: h, fill: color(k, ki) });
          r.appendChild(svg("title", {}, new Date(t).toISOString() + " " + k + ": " + c));
          root.appendChild(r);
        });
      }
      if (n <= 12 || i % Math.ceil(n / 8) === 0) {
        var d = new Date(t);
        var label = step >= 86400000 ? d.toISOString().slice(5, 10) : d.toISOString().slice(11, 16);
        root.appendChild(svg("text", { x: left + i * colW, y: H + 14 }, label));
      }
    }
    var lx = left;
    keyList.slice(0, 10).forEach(function (k, ki) {
      root.appendChild(svg("rect", { x: lx, y: H + bottom + 8, width: 10, height: 10, fill: color(k, ki) }));
      var txt = k.length > 24 ? k.slice(0, 23) + "…" : k;
      root.appendChild(svg("text", { x: lx + 14, y: H + bottom + 17 }, txt));
      lx += 24 + txt.length * 6.5;
    });
    box.appendChild(root);
  }

  function fillList(id, results) {
    var dl = $(id);
    dl.textContent = "";
    Object.keys(results || {}).sort().forEach(function (k) { dl.appendChild(el("option", { value: k })); });
  }

  function renderEvents(data, s) {
    var tbody = document.querySelector("#events-table tbody");
    tbody.textContent = "";
    (data.results || []).forEach(function (ev) {
      var tr = el("tr", { "data-rule": ev.rule, "data-uuid": ev.uuid || "" });
      tr.appendChild(el("td", { "class": "time" }, (ev.time || "").replace("T", " ").replace("Z", "")));
      var pt = el("td");
      pt.appendChild(el("span", { "class": "chip p-" + ev.priority }, ev.priority));
      tr.appendChild(pt);
      tr.appendChild(el("td", { "class": "rule" }, ev.rule));
      tr.appendChild(el("td", {}, ev.source || ""));
      tr.appendChild(el("td", {}, ev.hostname || ""));
      tr.appendChild(el("td", { "class": "output" }, ev.output || ""));
      tr.appendChild(el("td", {}, (ev.tags || []).join(", ")));
      tr.addEventListener("click", function () { showDetail(ev); });
      tbody.appendChild(tr);
    });
    var all = (data.statistics && data.statistics.all) || 0;
    var pages = Math.max(1, Math.ceil(all / s.limit));
    $("page-info").textContent = "page " + s.page + " of " + pages + " (" + all + " events)";
    $("prev").disabled = s.page <= 1;
    $("next").disabled = s.page >= pages;
    ["json", "ndjson", "csv"].forEach(function (f) {
      $("export-" + f).href = "api/hub/export?" + query(s, { format: f });
    });
  }

  function showDetail(ev) {
    $("detail-title").textContent = ev.rule;
    $("detail-json").textContent = JSON.stringify(ev, null, 2);
    var d = $("detail");
    if (d.showModal) d.showModal(); else d.setAttribute("open", "");
  }

  function renderCounters(total, prio) {
    $("total-count").textContent = String(total);
    var chips = $("priority-chips");
    chips.textContent = "";
    PRIORITIES.forEach(function (p) {
      var n = (prio || {})[p];
      if (!n) return;
      var c = el("span", { "class": "chip p-" + p, "data-priority": p }, p + " " + n);
      c.addEventListener("click", function () { addFilter("priority", p); });
      chips.appendChild(c);
    });
  }

  function load() {
    var s = state();
    document.body.setAttribute("data-state", "loading");
    $("error").textContent = "";
    var groups = ["priority", "rule", "source", "hostname", "tags"];
    var jobs = [api("api/v1/events/count", s)];
    groups.forEach(function (g) { jobs.push(api("api/v1/events/count/" + g, s)); });
    jobs.push(api("api/hub/timeline", s, { groupby: $("timeline-by").value }));
    jobs.push(api("api/v1/events/search", s, { page: String(s.page), limit: String(s.limit) }));
    return Promise.all(jobs).then(function (r) {
      renderCounters(r[0].statistics.all, r[1].results);
      groups.forEach(function (g, i) {
        barChart("chart-" + g, g, r[i + 1].results);
        fillList("list-" + g, r[i + 1].results);
      });
      timelineChart(r[6]);
      renderEvents(r[7], s);
      document.body.setAttribute("data-state", "ready");
    }).catch(function (e) {
      $("error").textContent = String(e.message || e);
      document.body.setAttribute("data-state", "error");
    });
  }

  function fillForm(s) {
    FIELDS.forEach(function (f) { if (form.elements[f]) form.elements[f].value = s[f]; });
    $("limit").value = String(s.limit);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var s = state();
    FIELDS.forEach(function (f) { s[f] = form.elements[f].value.trim(); });
    s.page = 1;
    setState(s, true);
  });
  $("reset").addEventListener("click", function () {
    var s = state();
    FIELDS.forEach(function (f) { s[f] = f === "since" ? "24h" : ""; });
    s.page = 1;
    fillForm(s);
    setState(s, true);
  });
  $("prev").addEventListener("click", function () { var s = state(); s.page = Math.max(1, s.page - 1); setState(s, true); });
  $("next").addEventListener("click", function () { var s = state(); s.page += 1; setState(s, true); });
  $("limit").addEventListener("change", function () { var s = state(); s.limit = parseInt($("limit").value, 10); s.page = 1; setState(s, true); });
  $("timeline-by").addEventListener("change", load);
  $("close").addEventListener("click", function () { $("detail").close(); });
  $("copy").addEventListener("click", function () {
    if (navigator.clipboard) navigator.clipboard.writeText($("detail-json").textContent);
  });
  $("refresh").addEventListener("change", schedule);
  window.addEventListener("popstate", function () { fillForm(state()); load(); });

  function schedule() {
    if (timer) clearInterval(timer);
    var secs = parseInt($("refresh").value, 10);
    if (secs > 0) timer = setInterval(function () { if (!loading) load(); }, secs * 1000);
  }

  fillForm(state());
  load();
  schedule();
})();
