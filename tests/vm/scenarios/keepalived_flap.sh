# keepalived_flap: a real server whose service keeps going away and coming back, as
# keepalived's health checker sees it (real keepalived, -C, on the real IPVS service); its
# console output is kept (keepalived/console.log) for the incident engine's golden test of
# real_server_flapping (src/incidents/engine/tests.rs).
#   nat_topology 4; TCP 10.0.0.100:8090 rr, real servers rs1:8090, rs2:8090
#   (busybox httpd -f, TCP_CHECK every second, no retry)
# rs2's server is stopped and started three times, each time until keepalived has removed
# and then added rs2 again; after the capture keepalived is stopped. keepalived also writes
# its checker's verdicts to its lvs_notify_fifo, read into keepalived/notify_fifo.txt for
# tests/keepalived_notify.rs (the RS/VS lines of a real checker; kept as
# tests/fixtures/logs/keepalived-2.2.7-flap.notify_fifo.txt).
nat_topology 4
mkdir -p "$CAP/keepalived"
cat > /tmp/kf.conf <<'CONF'
global_defs {
    router_id lbvm
    lvs_notify_fifo /tmp/kf.fifo
}
virtual_server 10.0.0.100 8090 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 8090 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 10.1.0.12 8090 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
CONF
LOG=$CAP/keepalived/console.log
$IP netns exec rs1 httpd -f -p 8090 -h /www &
$IP netns exec rs2 httpd -f -p 8090 -h /www &
KF_RS2=$!
keepalived -C -n -l -D -G -f /tmp/kf.conf -p /tmp/kf.pid -c /tmp/kf.check.pid > "$LOG" 2>&1 &
KF_PID=$!
i=0
while [ ! -p /tmp/kf.fifo ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
# keepalived holds the FIFO open: what it wrote before cat opened it waits in the pipe.
cat /tmp/kf.fifo > "$CAP/keepalived/notify_fifo.txt" &
KF_CAT=$!
echo "keepalived pid $KF_PID, rs2 httpd pid $KF_RS2, fifo reader $KF_CAT" >> "$SETUP_LOG"
wait_log "$LOG" "Activating healthchecker for service \[10.1.0.12\]:tcp:8090" 1 40
sleep 3
for n in 1 2 3; do
    kill "$KF_RS2"
    wait_log "$LOG" "Removing service \[10.1.0.12\]:tcp:8090" $n 40
    $IP netns exec rs2 httpd -f -p 8090 -h /www &
    KF_RS2=$!
    wait_log "$LOG" "Adding service \[10.1.0.12\]:tcp:8090" $n 40
done
sleep 1
scenario_post_capture() {
    kill "$KF_PID"
    i=0
    while kill -0 "$KF_PID" 2>/dev/null && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
    # keepalived gone: the FIFO's last writer closed it, and cat ends at its end of file.
    i=0
    while kill -0 "$KF_CAT" 2>/dev/null && [ $i -lt 20 ]; do usleep 100000; i=$((i + 1)); done
    kill "$KF_CAT" 2>/dev/null || true
}
