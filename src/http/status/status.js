// lvsmon's live status page: reads the server's own /api/v1/* JSON every few seconds and
// draws tables. Every value is set with textContent; no request goes anywhere but lvsmon.
(function () {
  "use strict";
  var C = JSON.parse(document.getElementById("status-config").textContent);
  var STATES = ["INIT", "BACKUP", "MASTER", "FAULT"];

  function h(name, text, parent, cls) {
    var e = document.createElement(name);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function table(heads) {
    var t = h("table");
    var tr = h("tr", null, h("thead", null, t));
    heads.forEach(function (x) { h("th", x, tr); });
    return { t: t, body: h("tbody", null, t) };
  }
  function row(body, cells) {
    var tr = h("tr", null, body);
    cells.forEach(function (c) {
      h("td", c && typeof c === "object" ? c.text : c, tr, c && c.cls);
    });
    return tr;
  }
  // One /api answer: its JSON, or {unavailable: text} (404 when a source is off).
  function get(path) {
    return fetch(path, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.ok) return r.json();
      return r.text().then(function (t) { return { unavailable: r.status + " " + t.trim() }; });
    }).catch(function (e) { return { unavailable: String(e) }; });
  }
  function put(id, node) { document.getElementById(id).replaceChildren(node); }
  function unavailable(id, what) {
    put(id, h("p", "not available: " + what, null, "unavailable"));
  }

  function services(v, problems) {
    if (v.unavailable || v.error) return unavailable("services", v.unavailable || v.error);
    var tb = table(["virtual service", "real server", "weight", "active", "inactive",
      "checker", "conn/s", "packets/s in", "packets/s out", "bytes/s in", "bytes/s out"]);
    tb.t.id = "services-table";
    v.forEach(function (s) {
      var r = s.rates || {};
      var rates = s.rates ? [r.conns, r.in_packets, r.out_packets, r.in_bytes, r.out_bytes] : ["", "", "", "", ""];
      if (!s.backends.length) {
        row(tb.body, [s.virtual_service, { text: "no real server", cls: "down" }, "", "", "", ""]
          .concat(rates)).className = "service";
        problems.push(s.virtual_service + " has no real server");
      }
      s.backends.forEach(function (b, k) {
        var verdict = b.checker_up === null ? { text: "not checked", cls: "unknown" }
          : b.checker_up ? { text: "up", cls: "up" } : { text: "down", cls: "down" };
        if (b.checker_up === false) problems.push(b.real_server + " of " + s.virtual_service + " is down");
        var tr = row(tb.body, [k ? "" : s.virtual_service, b.real_server,
          { text: b.weight, cls: "num" }, { text: b.active, cls: "num" },
          { text: b.inactive, cls: "num" }, verdict].concat(k ? ["", "", "", "", ""] :
          rates.map(function (x) { return { text: x, cls: "num" }; })));
        tr.className = "backend";
        tr.setAttribute("data-vs", s.virtual_service);
        tr.setAttribute("data-rs", b.real_server);
      });
    });
    put("services", tb.t);
  }

  function vrrp(v, problems) {
    if (v.unavailable) return unavailable("vrrp", v.unavailable);
    if (!v.up) problems.push("keepalived is not answering" + (v.collector_error ? ": " + v.collector_error : ""));
    var tb = table(["instance", "VRID", "interface", "state", "wanted", "priority", "base priority", "VIPs", "since"]);
    tb.t.id = "vrrp-table";
    (v.instances || []).forEach(function (i) {
      var st = STATES[i.state] || String(i.state);
      if (st === "FAULT") problems.push(i.iname + " is in FAULT");
      var since = i.last_transition ? new Date(i.last_transition * 1000).toISOString().replace(/\.\d+Z$/, "Z") : "";
      var tr = row(tb.body, [i.iname, i.vrid, i.interface, { text: st, cls: st },
        STATES[i.wanted_state] || i.wanted_state, { text: i.priority_effective, cls: "num" },
        { text: i.priority_base, cls: "num" }, { text: i.vips, cls: "num" }, since]);
      tr.className = "instance";
      tr.setAttribute("data-iname", i.iname);
    });
    put("vrrp", tb.t);
  }

  function incidents(v, problems) {
    if (v.unavailable) return unavailable("incidents", v.unavailable);
    if (!v.length) return put("incidents", h("p", "none open", null, "muted"));
    var tb = table(["since", "severity", "kind", "director", "summary", "check"]);
    tb.t.id = "incidents-table";
    v.forEach(function (i) {
      if (i.severity !== "info") problems.push(i.summary);
      var tr = row(tb.body, [i.start, { text: i.severity, cls: "sev-" + i.severity }, i.kind,
        i.host || (i.hosts || []).join(", "), i.summary, i.hint]);
      tr.className = "incident";
      tr.setAttribute("data-kind", i.kind);
    });
    put("incidents", tb.t);
  }

  function events(v) {
    if (v.unavailable) return unavailable("events", v.unavailable);
    var tb = table(["time", "severity", "kind", "line"]);
    tb.t.id = "events-table";
    v.slice(-C.events).reverse().forEach(function (e) {
      var tr = row(tb.body, [e.time || "", { text: e.severity, cls: "sev-" + e.severity }, e.kind, ""]);
      h("pre", e.line, tr.lastChild);
      tr.className = "event";
    });
    put("events", tb.t);
  }

  function refresh() {
    Promise.all([get("/api/v1/services"), get("/api/v1/state"), get("/api/v1/incidents"),
      get("/api/v1/events")]).then(function (a) {
      var problems = [];
      services(a[0], problems);
      vrrp(a[1], problems);
      incidents(a[2], problems);
      events(a[3]);
      var v = document.getElementById("verdict");
      v.replaceChildren();
      if (!problems.length) {
        v.textContent = "Nothing wrong right now.";
        v.className = "verdict ok";
      } else {
        h("div", problems.length + " thing" + (problems.length > 1 ? "s" : "") + " wrong right now:", v);
        var ul = h("ul", null, v);
        problems.slice(0, 12).forEach(function (p) { h("li", p, ul); });
        v.className = "verdict bad";
      }
      document.getElementById("updated").textContent = "updated " + new Date().toISOString().replace(/\.\d+Z$/, "Z");
      document.documentElement.setAttribute("data-refreshed", String(+(document.documentElement.getAttribute("data-refreshed") || 0) + 1));
    });
  }
  refresh();
  setInterval(refresh, C.refresh_seconds * 1000);
})();
