# keepalived_logs: keepalived's health checker (real keepalived, -C) manages the IPVS
# service itself, and its console output is kept (keepalived/console.log) for the log
# classifier's tests (tests/logs_keepalived.rs).
#   nat_topology 4; TCP 10.0.0.100:8080 rr, quorum 2, sorry server rs1:8081,
#   real servers rs1:8080, rs2:8080 (busybox httpd -f, TCP_CHECK every second)
# rs2's server is stopped (check fails, rs2 removed, quorum lost, sorry server on), then
# started again (check succeeds, rs2 added, quorum gained, sorry server off); after the
# capture keepalived is stopped (its shutdown lines end the log).
nat_topology 4
mkdir -p "$CAP/keepalived"
cat > /tmp/kc.conf <<'CONF'
global_defs {
    router_id lbvm
}
virtual_server 10.0.0.100 8080 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 10.1.0.11 8081
    real_server 10.1.0.11 8080 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.1.0.12 8080 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
CONF
$IP netns exec rs1 httpd -f -p 8080 -h /www &
# Not through nsx (a shell function: $! would be its subshell): `ip netns exec` execs
# httpd, so $! is httpd itself.
$IP netns exec rs2 httpd -f -p 8080 -h /www &
KC_RS2=$!
keepalived -C -n -l -D -G -f /tmp/kc.conf -p /tmp/kc.pid -c /tmp/kc.check.pid \
    > "$CAP/keepalived/console.log" 2>&1 &
KC_PID=$!
echo "keepalived pid $KC_PID, rs2 httpd pid $KC_RS2" >> "$SETUP_LOG"
seen() { grep -c "$1" "$CAP/keepalived/console.log"; }
sleep 6
GAINED=$(seen "Gained quorum")
kill "$KC_RS2"
wait_log "$CAP/keepalived/console.log" "Lost quorum" 1 40
$IP netns exec rs2 httpd -f -p 8080 -h /www &
wait_log "$CAP/keepalived/console.log" "Gained quorum" $((GAINED + 1)) 40
sleep 2
scenario_post_capture() {
    kill "$KC_PID"
    i=0
    while kill -0 "$KC_PID" 2>/dev/null && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
}
