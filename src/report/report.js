// lvsmon's post-mortem report: draws the timeline (SVG) from the page's JSON document.
// Every text from the input (host names, log lines) is set with textContent or
// setAttribute, never parsed as markup. No request leaves the page.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  // Pieces count from D.start and name states by number: made absolute and named once.
  var STATES = ["UNKNOWN", "BACKUP", "MASTER", "FAULT"];
  D.vrrp.forEach(function (l) {
    l.segments.forEach(function (s) { s[0] += D.start; s[1] += D.start; s[2] = STATES[s[2]]; });
  });
  D.servers.forEach(function (l) {
    l.down.forEach(function (d) { d[0] += D.start; d[1] += D.start; });
  });
  // Incidents come as the engine writes them (RFC 3339): to ms.
  function ms(t) { return t === null ? null : Date.parse(t); }
  D.incidents.forEach(function (i) {
    i.start = ms(i.start);
    i.end = ms(i.end);
    i.evidence.forEach(function (e) { e.time = ms(e.time); });
  });
  var view = [D.start, D.end];
  var LABEL = 240, ROW = 18, GAP = 3, AXIS = 26, MAX_INC_ROWS = 8, BULK = 200;
  var byId = {};
  D.incidents.forEach(function (i) { byId[i.id] = i; });
  var forcedWidth = 0;
  var selected = null;

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(name, text, parent, cls) {
    var e = document.createElement(name);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function iso(ms) {
    if (ms === null || ms === undefined) return "open";
    return new Date(ms).toISOString().replace(".000Z", "Z");
  }
  function label(parent, x, y, s, cls) {
    var t = el("text", { x: x, y: y, class: cls || "lane-label" }, parent);
    t.textContent = s;
    return t;
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }

  var STEPS = [1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5,
    72e5, 108e5, 216e5, 432e5, 864e5, 1728e5, 6048e5];

  function draw() {
    var box = document.getElementById("timeline");
    var W = forcedWidth || Math.max(900, box.clientWidth || 1200);
    var plot = W - LABEL - 10;
    var t0 = view[0], t1 = view[1], span = Math.max(1, t1 - t0);
    function x(t) { return LABEL + (Math.min(Math.max(t, t0), t1) - t0) / span * plot; }
    function w(s, e) { return Math.max(1, x(e) - x(s)); }
    function seen(s, e) { return e >= t0 && s <= t1; }
    var svg = el("svg", { width: W, "data-start": t0, "data-end": t1 });
    function timeAt(ev) {
      var b = svg.getBoundingClientRect();
      return t0 + ((ev.clientX - b.left) * W / b.width - LABEL) / plot * span;
    }
    // Many pieces: one path per class instead of a rect each, so a page of ten directors
    // opens fast; a click finds the piece under the pointer.
    function bulk(g, items, clsOf, y0, hgt, attrs, pick) {
      var d = {};
      items.forEach(function (it) {
        if (!seen(it[0], it[1])) return;
        var c = clsOf(it), wd = w(it[0], it[1]).toFixed(1);
        d[c] = (d[c] || "") + "M" + x(it[0]).toFixed(1) + " " + y0 + "h" + wd + "v" + hgt + "h-" + wd + "z";
      });
      Object.keys(d).forEach(function (c) {
        var p = el("path", attrs, g);
        p.setAttribute("class", c);
        p.setAttribute("d", d[c]);
        p.addEventListener("click", function (ev) {
          var t = timeAt(ev);
          for (var k = 0; k < items.length; k++) {
            if (items[k][0] <= t && t <= items[k][1] && clsOf(items[k]) === c) {
              select(p);
              pick(items[k]);
              return;
            }
          }
        });
      });
    }
    var defs = el("defs", {}, svg);
    var pat = el("pattern", { id: "open-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)" }, defs);
    el("rect", { width: 3, height: 6, fill: "#ef6c00" }, pat);
    var y = AXIS;

    // The axis: round steps of about 110 px.
    var axis = el("g", { class: "axis" }, svg);
    var step = STEPS[STEPS.length - 1];
    for (var k = 0; k < STEPS.length; k++) {
      if (STEPS[k] / span * plot >= 110) { step = STEPS[k]; break; }
    }
    for (var t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      var tx = x(t);
      el("line", { x1: tx, x2: tx, y1: AXIS - 6, y2: 100000 }, axis);
      var s = iso(t);
      label(axis, tx + 2, 12, step >= 864e5 ? s.slice(0, 10) : s.slice(11, 19), "tick");
    }
    label(axis, 4, 12, iso(t0).slice(0, 10) + " UTC", "tick");

    function section(title) {
      y += 6;
      label(svg, 4, y + 12, title, "section-label");
      y += ROW;
    }
    function lane(cls, text, attrs) {
      var g = el("g", attrs, svg);
      g.setAttribute("class", "lane " + cls);
      el("rect", { class: "lane-bg", x: LABEL, y: y, width: plot, height: ROW }, g);
      var tl = label(g, 4, y + 13, clip(text, 38));
      el("title", {}, tl).textContent = text;
      return g;
    }

    var laneY = {};
    if (D.vrrp.length) {
      section("VRRP instances (director · instance)");
      D.vrrp.forEach(function (l) {
        var g = lane("vrrp", l.host + " · " + l.iname, { "data-host": l.host, "data-iname": l.iname });
        laneY[l.host + "\u0000" + l.iname] = y;
        if (l.folded || l.segments.length > BULK) {
          bulk(g, l.segments, function (sg) { return "seg s-" + sg[2] + (sg[3] ? " folded" : ""); },
            y + 2, ROW - 4, { "data-host": l.host }, function (sg) { showSegment(l, sg); });
          y += ROW + GAP;
          return;
        }
        l.segments.forEach(function (sg) {
          if (!seen(sg[0], sg[1])) return;
          var r = el("rect", { class: "seg s-" + sg[2] + (sg[3] ? " folded" : ""), x: x(sg[0]),
            y: y + 2, width: w(sg[0], sg[1]), height: ROW - 4, "data-state": sg[2],
            "data-host": l.host }, g);
          r.addEventListener("click", function () { select(r); showSegment(l, sg); });
        });
        y += ROW + GAP;
      });
      // A split brain: a band over each MASTER lane involved (the lanes of one instance
      // are next to each other), joined by a line.
      var many = D.split_brain.length > BULK, perLane = {};
      D.split_brain.forEach(function (o) {
        if (!seen(o.start, o.end)) return;
        if (many) {
          o.hosts.forEach(function (hn) {
            var key = hn + "\u0000" + o.iname;
            if (laneY[key] !== undefined) (perLane[key] = perLane[key] || []).push([o.start, o.end, o]);
          });
          return;
        }
        var ys = o.hosts.map(function (hn) { return laneY[hn + "\u0000" + o.iname]; })
          .filter(function (v) { return v !== undefined; });
        if (ys.length < 2) return;
        var g = el("g", { class: "split", "data-iname": o.iname, "data-hosts": o.hosts.join(",") }, svg);
        var x0 = x(o.start), width = w(o.start, o.end);
        el("line", { class: "split-join", x1: x0, x2: x0, y1: Math.min.apply(null, ys) + ROW / 2,
          y2: Math.max.apply(null, ys) + ROW / 2 }, g);
        ys.forEach(function (ly, k) {
          el("rect", { class: "split-lane", x: x0, y: ly, width: width, height: ROW,
            "data-host": o.hosts[k] }, g);
        });
        g.addEventListener("click", function () { select(g); showSplit(o); });
      });
      Object.keys(perLane).forEach(function (key) {
        var g = el("g", { class: "split bulk", "data-host": key.split("\u0000")[0] }, svg);
        bulk(g, perLane[key], function () { return "split-lane"; }, laneY[key], ROW, {},
          function (it) { showSplit(it[2]); });
      });
    }

    if (D.servers.length) {
      section("Real servers (virtual service → real server)");
      D.servers.forEach(function (l) {
        var g = lane("server", l.virtual_service + " → " + l.real_server,
          { "data-vs": l.virtual_service, "data-rs": l.real_server });
        l.down.forEach(function (d) {
          if (!seen(d[0], d[1])) return;
          var r = el("rect", { class: "down" + (d[3] ? " open" : ""), x: x(d[0]), y: y + 3,
            width: w(d[0], d[1]), height: ROW - 6, "data-host": D.hosts[d[2]] }, g);
          r.addEventListener("click", function () { select(r); showDown(l, d); });
        });
        y += ROW + GAP;
      });
    }

    if (D.activity.length) {
      section("Lines logged (height: log of the count; colour: worst severity)");
      D.activity.forEach(function (a) {
        var g = lane("activity", a.host, { "data-host": a.host });
        var max = 1;
        a.buckets.forEach(function (b) { max = Math.max(max, b[1] + b[2] + b[3]); });
        a.buckets.forEach(function (b) {
          var s = D.start + b[0] * a.width, e = s + a.width;
          if (!seen(s, e)) return;
          var n = b[1] + b[2] + b[3];
          var hgt = Math.max(2, (ROW - 2) * Math.log(1 + n) / Math.log(1 + max));
          var worst = b[1] ? 0 : b[2] ? 1 : 2;
          var r = el("rect", { class: "act c" + worst, x: x(s), y: y + ROW - 1 - hgt,
            width: w(s, e), height: hgt }, g);
          el("title", {}, r).textContent = iso(s) + ": " + b[1] + " critical, " + b[2] +
            " warning, " + b[3] + " info";
        });
        y += ROW + GAP;
      });
    }

    if (D.incidents.length) {
      section("Incidents");
      var rows = [];
      var g = el("g", { class: "lane incidents" }, svg);
      D.incidents.forEach(function (i) {
        var end = i.end === null ? D.end : i.end;
        if (!seen(i.start, end)) return;
        var x0 = x(i.start), x1 = Math.max(x0 + 4, x(end));
        var row = 0;
        while (row < rows.length && rows[row] > x0 - 2) row++;
        if (row >= MAX_INC_ROWS) row = MAX_INC_ROWS - 1;
        rows[row] = Math.max(rows[row] || 0, x1);
        var r = el("rect", { class: "inc sev-" + i.severity + " k-" + i.kind, id: "inc-" + i.id,
          x: x0, y: y + row * (ROW - 4), width: x1 - x0, height: ROW - 6, "data-id": i.id,
          "data-kind": i.kind }, g);
        el("title", {}, r).textContent = i.summary;
        if (x1 - x0 > 70) {
          label(g, x0 + 3, y + row * (ROW - 4) + 9, clip(i.kind, Math.floor((x1 - x0) / 6)), "inc-label");
        }
        r.addEventListener("click", function () { focusIncident(i.id, false); });
        r.addEventListener("mouseenter", function () { if (!selected) showIncident(i); });
      });
      y += Math.max(1, rows.length) * (ROW - 4) + 6;
    }
    svg.setAttribute("height", y + 6);
    svg.setAttribute("viewBox", "0 0 " + W + " " + (y + 6));

    // Drag across the plot to zoom.
    var brush = null, from = 0;
    function px(ev) { var b = svg.getBoundingClientRect(); return (ev.clientX - b.left) * W / b.width; }
    svg.addEventListener("mousedown", function (ev) {
      var p = px(ev);
      if (p < LABEL || ev.button !== 0) return;
      from = p;
      brush = el("rect", { class: "brush", x: p, y: 0, width: 0, height: y }, svg);
    });
    svg.addEventListener("mousemove", function (ev) {
      if (!brush) return;
      var p = Math.max(LABEL, Math.min(W - 10, px(ev)));
      brush.setAttribute("x", Math.min(p, from));
      brush.setAttribute("width", Math.abs(p - from));
    });
    svg.addEventListener("mouseup", function (ev) {
      if (!brush) return;
      var p = Math.max(LABEL, Math.min(W - 10, px(ev)));
      brush.remove();
      brush = null;
      if (Math.abs(p - from) < 5) return;
      var a = t0 + (Math.min(p, from) - LABEL) / plot * span;
      var b = t0 + (Math.max(p, from) - LABEL) / plot * span;
      zoom(a, b);
    });
    box.replaceChildren(svg);
    document.getElementById("from").value = iso(Math.round(t0));
    document.getElementById("to").value = iso(Math.round(t1));
    if (selected && selected.id) {
      var again = document.getElementById(selected.id);
      if (again) again.classList.add("selected");
    }
  }

  function zoom(a, b) {
    a = Math.max(D.start, Math.floor(a));
    b = Math.min(D.end, Math.ceil(b));
    if (b - a < 1000) { var m = (a + b) / 2; a = m - 500; b = m + 500; }
    view = [a, b];
    draw();
  }

  function select(node) {
    document.querySelectorAll(".selected").forEach(function (n) { n.classList.remove("selected"); });
    selected = node;
    if (node) node.classList.add("selected");
  }

  function detail() {
    var d = document.getElementById("detail");
    d.replaceChildren();
    d.hidden = false;
    return d;
  }
  function showIncident(i) {
    var d = detail();
    h("h3", i.summary, d);
    var who = i.host || i.hosts.join(", ");
    h("p", i.kind + " · " + i.severity + " · " + iso(i.start) + " … " + iso(i.end) + " · " + who +
      (i.count > 1 ? " · " + i.count + " times" : ""), d);
    h("p", "Check: " + i.hint, d, "hint");
    h("strong", "Evidence", d);
    i.evidence.forEach(function (e) {
      h("pre", (e.time === null ? "" : iso(e.time) + " ") + e.host + ": " + e.line, d, "evidence");
    });
  }
  function showSegment(l, sg) {
    var d = detail();
    h("h3", l.host + " · " + l.iname + ": " + sg[2], d);
    h("p", iso(sg[0]) + " … " + iso(sg[1]), d);
    if (sg[3]) h("p", "Folded: " + sg[3] + " state changes in this stretch; zoom in to see them.", d, "hint");
  }
  function showDown(l, dp) {
    var d = detail();
    h("h3", l.real_server + " of " + l.virtual_service + " out on " + D.hosts[dp[2]], d);
    h("p", iso(dp[0]) + " … " + (dp[3] ? "still out at the end of the input" : iso(dp[1])), d);
    if (dp[4] > 1) h("p", "Folded: " + dp[4] + " periods out; zoom in to see them.", d, "hint");
  }
  function showSplit(o) {
    var d = detail();
    h("h3", "Split brain: " + o.hosts.join(" and ") + " both MASTER of " + o.iname, d);
    h("p", iso(o.start) + " … " + iso(o.end), d);
    D.incidents.forEach(function (i) {
      if (i.kind === "split_brain" && i.start <= o.end && (i.end === null || i.end >= o.start)) {
        h("p", "Incident: " + i.summary, d, "hint");
      }
    });
  }

  function focusIncident(id, move) {
    var i = byId[id];
    if (!i) return;
    if (move) {
      var end = i.end === null ? D.end : i.end;
      var pad = Math.max((end - i.start) * 0.5, 5000);
      zoom(i.start - pad, end + pad);
    }
    select(document.getElementById("inc-" + id));
    document.querySelectorAll("tr.selected").forEach(function (n) { n.classList.remove("selected"); });
    var row = document.getElementById("row-" + id);
    if (row) row.classList.add("selected");
    showIncident(i);
    if (move) document.getElementById("timeline-section").scrollIntoView();
  }

  document.querySelectorAll("a.goto").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      focusIncident(a.closest("tr").getAttribute("data-id"), true);
    });
  });
  document.getElementById("apply").addEventListener("click", function () {
    var a = Date.parse(document.getElementById("from").value);
    var b = Date.parse(document.getElementById("to").value);
    if (!isNaN(a) && !isNaN(b) && b > a) zoom(a, b);
  });
  document.getElementById("out").addEventListener("click", function () {
    var m = (view[0] + view[1]) / 2, half = (view[1] - view[0]);
    zoom(m - half, m + half);
  });
  document.getElementById("reset").addEventListener("click", function () { zoom(D.start, D.end); });
  var pending = 0;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(draw, 100);
  });
  window.addEventListener("beforeprint", function () { forcedWidth = 1000; draw(); });
  window.addEventListener("afterprint", function () { forcedWidth = 0; draw(); });

  // `#view=FROM,TO` (RFC 3339 or ms) opens zoomed; `#inc-ID` on an incident.
  var hash = decodeURIComponent(location.hash.slice(1));
  if (hash.indexOf("view=") === 0) {
    var p = hash.slice(5).split(",");
    var a = isNaN(+p[0]) ? Date.parse(p[0]) : +p[0], b = isNaN(+p[1]) ? Date.parse(p[1]) : +p[1];
    if (!isNaN(a) && !isNaN(b) && b > a) view = [Math.max(D.start, a), Math.min(D.end, b)];
  }
  draw();
  if (hash.indexOf("inc-") === 0) focusIncident(hash.slice(4), true);
  window.lvsmonReport = { zoom: zoom, view: function () { return view.slice(); }, focus: focusIncident };
  document.documentElement.setAttribute("data-ready", "1");
})();
