"""Writes deploy/zabbix/lvsmon_template.yaml and lvsmon_template_http.yaml (Zabbix 6.0 exports).

The templates are data; this script is how they were written, so that an item added here gets
every place it must appear (key, prototype, trigger, uuid) at once. UUIDs are derived from names
(version-4 form), so regenerating changes nothing that did not change.
    python3 deploy/zabbix/gen_templates.py deploy/zabbix      (needs python3-yaml)
Both templates are imported into a real Zabbix 6.0 server by tests/check_zabbix_server.rs.
"""
import hashlib, yaml, sys

def uid(name):
    h = bytearray(hashlib.md5(("lvsmon:" + name).encode()).digest())
    h[6] = (h[6] & 0x0F) | 0x40
    h[8] = (h[8] & 0x3F) | 0x80
    return h.hex()

class Q(str): pass
def q_repr(d, data): return d.represent_scalar('tag:yaml.org,2002:str', data, style="'")
yaml.add_representer(Q, q_repr)
# Scripts (the discovery JavaScript) as literal blocks, readable in the export.
yaml.add_representer(str, lambda d, s: d.represent_scalar('tag:yaml.org,2002:str', s, style="|" if "\n" in s else None))

GROUP = "Templates/Applications"
VRRP_MAP = {"name": "keepalived VRRP state", "uuid": None,
            "mappings": [{"value": Q(v), "newvalue": n} for v, n in (("0","INIT"),("1","BACKUP"),("2","MASTER"),("3","FAULT"))]}
UP_MAP = {"name": "lvsmon up/down", "uuid": None,
          "mappings": [{"value": Q("0"), "newvalue": "Down"}, {"value": Q("1"), "newvalue": "Up"}]}

def tags(**kw): return [{"tag": k, "value": v} for k, v in kw.items()]

def agent_template():
    T = "LVS director by lvsmon agent"
    def last(key): return f"last(/{T}/{key})"
    svc = "{#PROTO},{#VIP},{#VPORT},{#FWMARK}"
    be = svc + ",{#RIP},{#RPORT}"
    items = [
        {"uuid": uid(T+"ka-up"), "name": "keepalived: up", "key": "lvsmon.keepalived[up]", "delay": "1m",
         "history": "7d", "valuemap": {"name": UP_MAP["name"]}, "tags": tags(component="keepalived"),
         "triggers": [{"uuid": uid(T+"tr-ka-down"), "expression": f"{last('lvsmon.keepalived[up]')}=0",
                       "name": "keepalived is down on {HOST.NAME}", "priority": "HIGH",
                       "description": "lvsmon cannot reach keepalived: no VRRP, no health checks of real servers."}]},
    ]
    for sev, prio in (("critical", "HIGH"), ("warning", "WARNING")):
        it = {"uuid": uid(T+"inc-"+sev), "name": f"Open {sev} incidents", "key": f"lvsmon.incidents[{sev}]",
              "delay": "1m", "history": "7d", "tags": tags(component="incidents")}
        it["triggers"] = [{"uuid": uid(T+"tr-inc-"+sev), "expression": f"{last(f'lvsmon.incidents[{sev}]')}>0",
                           "name": f"{sev.capitalize()} incident open on {{HOST.NAME}}", "priority": prio,
                           "description": "lvsmon's incident engine has an open incident of this severity: "
                                          "see `lvsmon check nagios incidents -v` or /api/v1/incidents."}]
        items.append(it)
    services = {"uuid": uid(T+"d-svc"), "name": "Virtual services", "key": "lvsmon.discovery[services]",
                "delay": "5m", "lifetime": "7d", "description": "Every IPVS virtual service of the director.",
                "item_prototypes": [], "trigger_prototypes": []}
    for field, label in (("available", "available backends"), ("configured", "configured backends"),
                         ("active", "active connections"), ("inactive", "inactive connections")):
        key = f"lvsmon.service[{field},{svc}]"
        p = {"uuid": uid(T+"svc-"+field), "name": f"{{#SERVICE}}: {label}", "key": key, "delay": "1m",
             "history": "7d", "tags": tags(component="ipvs", service="{#SERVICE}")}
        if field == "available":
            p["trigger_prototypes"] = [{"uuid": uid(T+"tr-svc-none"), "expression": f"{last(key)}=0",
                "name": "{#SERVICE}: no backend available", "priority": "HIGH",
                "description": "Every real server of this virtual service has weight 0 or there is none: "
                               "clients of it get no answer."}]
        services["item_prototypes"].append(p)
    del services["trigger_prototypes"]
    backends = {"uuid": uid(T+"d-be"), "name": "Backends", "key": "lvsmon.discovery[backends]",
                "delay": "5m", "lifetime": "7d", "description": "Every real server of every virtual service.",
                "item_prototypes": []}
    for field, label in (("weight", "weight"), ("active", "active connections"), ("inactive", "inactive connections")):
        key = f"lvsmon.backend[{field},{be}]"
        p = {"uuid": uid(T+"be-"+field), "name": f"{{#SERVICE}} backend {{#RIP}}:{{#RPORT}}: {label}",
             "key": key, "delay": "1m", "history": "7d",
             "tags": tags(component="ipvs", service="{#SERVICE}", backend="{#RIP}:{#RPORT}")}
        if field == "weight":
            p["trigger_prototypes"] = [{"uuid": uid(T+"tr-be-w0"), "expression": f"{last(key)}=0",
                "name": "{#SERVICE}: backend {#RIP}:{#RPORT} has weight 0", "priority": "WARNING",
                "description": "The backend takes no new connections (drained by hand or by keepalived's health check)."}]
        backends["item_prototypes"].append(p)
    vrrp = {"uuid": uid(T+"d-vrrp"), "name": "VRRP instances", "key": "lvsmon.discovery[vrrp]",
            "delay": "5m", "lifetime": "7d", "description": "keepalived's VRRP instances.", "item_prototypes": []}
    key = "lvsmon.vrrp[state,{#INAME}]"
    vrrp["item_prototypes"].append({"uuid": uid(T+"vrrp-state"), "name": "VRRP {#INAME} (vrid {#VRID}): state",
        "key": key, "delay": "1m", "history": "30d", "valuemap": {"name": VRRP_MAP["name"]},
        "tags": tags(component="vrrp", instance="{#INAME}"),
        "trigger_prototypes": [
            {"uuid": uid(T+"tr-vrrp-change"), "expression": f"change(/{T}/{key})<>0",
             "name": "VRRP {#INAME}: state changed to {ITEM.LASTVALUE}", "priority": "WARNING",
             "manual_close": "YES",
             "description": "A failover or a takeover: check the other director and keepalived's log."},
            {"uuid": uid(T+"tr-vrrp-fault"), "expression": f"{last(key)}=3",
             "name": "VRRP {#INAME} is in FAULT", "priority": "HIGH",
             "description": "keepalived put the instance in FAULT (a tracked interface or script failed)."}]})
    vrrp["item_prototypes"].append({"uuid": uid(T+"vrrp-prio"), "name": "VRRP {#INAME} (vrid {#VRID}): priority",
        "key": "lvsmon.vrrp[priority,{#INAME}]", "delay": "1m", "history": "7d",
        "tags": tags(component="vrrp", instance="{#INAME}")})
    return {"uuid": uid(T), "template": T, "name": T,
            "description": "IPVS virtual services, backends, keepalived's VRRP instances and lvsmon's incidents, "
                           "read by the Zabbix agent through deploy/zabbix/lvsmon.conf (lvsmon check zabbix).",
            "groups": [{"name": GROUP}], "items": items,
            "discovery_rules": [services, backends, vrrp],
            "valuemaps": [dict(m, uuid=uid(T + m["name"])) for m in (VRRP_MAP, UP_MAP)]}

LLD_JS_SERVICES = r"""// The Prometheus-to-JSON rows of one series per service, as the agent's discovery gives them.
var rows = JSON.parse(value), out = [], seen = {};
for (var i = 0; i < rows.length; i++) {
    var l = rows[i].labels, s;
    if (l.proto === 'FWM') { s = 'FWM ' + l.local_mark; }
    else if (l.local_address.indexOf(':') >= 0) { s = l.proto + ' [' + l.local_address + ']:' + l.local_port; }
    else { s = l.proto + ' ' + l.local_address + ':' + l.local_port; }
    var m = {'{#SERVICE}': s, '{#PROTO}': l.proto, '{#VIP}': l.local_address,
             '{#VPORT}': l.local_port, '{#FWMARK}': l.local_mark};
    if (l.remote_address !== undefined) { m['{#RIP}'] = l.remote_address; m['{#RPORT}'] = l.remote_port; }
    var k = JSON.stringify(m);
    if (!seen[k]) { seen[k] = true; out.push(m); }
}
return JSON.stringify(out);"""

LLD_JS_VRRP = r"""var rows = JSON.parse(value), out = [];
for (var i = 0; i < rows.length; i++) {
    out.push({'{#INAME}': rows[i].labels.iname, '{#VRID}': rows[i].labels.vrid});
}
return JSON.stringify(out);"""

def http_template():
    T = "LVS director by lvsmon HTTP"
    master = "lvsmon.metrics"
    def dep(name, key, pattern, **extra):
        d = {"uuid": uid(T+key), "name": name, "type": "DEPENDENT", "key": key, "delay": "0",
             "history": "7d", "preprocessing": [{"type": "PROMETHEUS_PATTERN", "parameters": [pattern, "value", ""]}],
             "master_item": {"key": master}}
        d.update(extra)
        return d
    def last(key): return f"last(/{T}/{key})"
    sel = 'proto="{#PROTO}",local_address="{#VIP}",local_port="{#VPORT}",local_mark="{#FWMARK}"'
    besel = sel + ',remote_address="{#RIP}",remote_port="{#RPORT}"'
    items = [
        {"uuid": uid(T+"master"), "name": "lvsmon: metrics page", "type": "HTTP_AGENT", "key": master,
         "delay": "1m", "history": "0", "trends": "0", "value_type": "TEXT", "url": "{$LVSMON.URL}",
         "timeout": "{$LVSMON.TIMEOUT}",
         "description": "lvsmon's /metrics page, which every other item reads (no agent needed).",
         "tags": tags(component="raw"),
         "triggers": [{"uuid": uid(T+"tr-nodata"), "expression": f"nodata(/{T}/{master},5m)=1",
                       "name": "lvsmon on {HOST.NAME} does not answer", "priority": "AVERAGE"}]},
        dep("keepalived: up", "lvsmon.http.keepalived.up", "keepalived_up",
            valuemap={"name": UP_MAP["name"]}, tags=tags(component="keepalived"),
            triggers=[{"uuid": uid(T+"tr-ka-down"), "expression": f"{last('lvsmon.http.keepalived.up')}=0",
                       "name": "keepalived is down on {HOST.NAME}", "priority": "HIGH"}]),
    ]
    for sev, prio in (("critical", "HIGH"), ("warning", "WARNING")):
        key = f"lvsmon.http.incidents[{sev}]"
        items.append({"uuid": uid(T+key), "name": f"Open {sev} incidents", "type": "DEPENDENT", "key": key,
            "delay": "0", "history": "7d", "master_item": {"key": master},
            "preprocessing": [
                {"type": "PROMETHEUS_TO_JSON", "parameters": [f'lvsmon_incident_active{{severity="{sev}"}}']},
                {"type": "JSONPATH", "parameters": ["$.length()"]}],
            "tags": tags(component="incidents"),
            "triggers": [{"uuid": uid(T+"tr-"+key), "expression": f"{last(key)}>0",
                          "name": f"{sev.capitalize()} incident open on {{HOST.NAME}}", "priority": prio}]})
    def rule(name, key, family, js, protos):
        return {"uuid": uid(T+key), "name": name, "type": "DEPENDENT", "key": key, "delay": "0",
                "lifetime": "7d", "master_item": {"key": master},
                "preprocessing": [{"type": "PROMETHEUS_TO_JSON", "parameters": [family]},
                                  {"type": "JAVASCRIPT", "parameters": [js]},
                                  {"type": "DISCARD_UNCHANGED_HEARTBEAT", "parameters": ["1h"]}],
                "item_prototypes": protos}
    svc_protos = []
    for fam, field, label in (("ipvs_service_backends_available", "available", "available backends"),
                              ("ipvs_service_backends", "configured", "configured backends")):
        key = f"lvsmon.http.service[{field},{{#PROTO}},{{#VIP}},{{#VPORT}},{{#FWMARK}}]"
        p = dep(f"{{#SERVICE}}: {label}", key, f"{fam}{{{sel}}}",
                tags=tags(component="ipvs", service="{#SERVICE}"))
        if field == "available":
            p["trigger_prototypes"] = [{"uuid": uid(T+"tr-svc-none"), "expression": f"{last(key)}=0",
                "name": "{#SERVICE}: no backend available", "priority": "HIGH"}]
        svc_protos.append(p)
    be_protos = []
    for fam, field, label in (("ipvs_backend_weight", "weight", "weight"),
                              ("ipvs_backend_connections_active", "active", "active connections"),
                              ("ipvs_backend_connections_inactive", "inactive", "inactive connections")):
        key = f"lvsmon.http.backend[{field},{{#PROTO}},{{#VIP}},{{#VPORT}},{{#FWMARK}},{{#RIP}},{{#RPORT}}]"
        p = dep(f"{{#SERVICE}} backend {{#RIP}}:{{#RPORT}}: {label}", key, f"{fam}{{{besel}}}",
                tags=tags(component="ipvs", service="{#SERVICE}", backend="{#RIP}:{#RPORT}"))
        if field == "weight":
            p["trigger_prototypes"] = [{"uuid": uid(T+"tr-be-w0"), "expression": f"{last(key)}=0",
                "name": "{#SERVICE}: backend {#RIP}:{#RPORT} has weight 0", "priority": "WARNING"}]
        be_protos.append(p)
    vkey = "lvsmon.http.vrrp[state,{#INAME}]"
    vrrp_protos = [dep("VRRP {#INAME} (vrid {#VRID}): state", vkey, 'keepalived_vrrp_state{iname="{#INAME}"}',
        history="30d", valuemap={"name": VRRP_MAP["name"]}, tags=tags(component="vrrp", instance="{#INAME}"),
        trigger_prototypes=[
            {"uuid": uid(T+"tr-vrrp-change"), "expression": f"change(/{T}/{vkey})<>0",
             "name": "VRRP {#INAME}: state changed to {ITEM.LASTVALUE}", "priority": "WARNING", "manual_close": "YES"},
            {"uuid": uid(T+"tr-vrrp-fault"), "expression": f"{last(vkey)}=3",
             "name": "VRRP {#INAME} is in FAULT", "priority": "HIGH"}])]
    return {"uuid": uid(T), "template": T, "name": T,
            "description": "The same as 'LVS director by lvsmon agent' without an agent: HTTP agent items read "
                           "lvsmon's /metrics ({$LVSMON.URL}) and Prometheus preprocessing picks the series.",
            "groups": [{"name": GROUP}], "items": items,
            "discovery_rules": [
                rule("Virtual services", "lvsmon.http.discovery[services]", "ipvs_service_backends", LLD_JS_SERVICES, svc_protos),
                rule("Backends", "lvsmon.http.discovery[backends]", "ipvs_backend_weight", LLD_JS_SERVICES, be_protos),
                rule("VRRP instances", "lvsmon.http.discovery[vrrp]", "keepalived_vrrp_state", LLD_JS_VRRP, vrrp_protos)],
            "macros": [{"macro": "{$LVSMON.URL}", "value": "http://{HOST.CONN}:9689/metrics",
                        "description": "lvsmon's metrics page on the director"},
                       {"macro": "{$LVSMON.TIMEOUT}", "value": "10s"}],
            "valuemaps": [dict(m, uuid=uid(T + m["name"])) for m in (VRRP_MAP, UP_MAP)]}

def export(t, header):
    doc = {"zabbix_export": {"version": Q("6.0"), "date": Q("2026-12-02T00:00:00Z"),
           "groups": [{"uuid": uid("group"), "name": GROUP}], "templates": [t]}}
    return header + yaml.dump(doc, sort_keys=False, allow_unicode=True, width=110)

out = sys.argv[1]
open(out + "/lvsmon_template.yaml", "w").write(export(agent_template(),
    "# Zabbix 6.0 template for directors with the Zabbix agent and deploy/zabbix/lvsmon.conf.\n"
    "# Import it (Configuration > Templates > Import) and link it to each director.\n"
    "# Written by deploy/zabbix/gen_templates.py: edit that, not this.\n"))
open(out + "/lvsmon_template_http.yaml", "w").write(export(http_template(),
    "# Zabbix 6.0 template that needs no agent script: HTTP agent items read lvsmon's /metrics\n"
    "# ({$LVSMON.URL}, default http://{HOST.CONN}:9689/metrics) with Prometheus preprocessing.\n"
    "# Written by deploy/zabbix/gen_templates.py: edit that, not this.\n"))
