# keepalived_check: keepalived's health checkers driving a real IPVS director.
# nat_topology 4 (client, director = root ns, rs1/rs2 with busybox httpd), and a
# keepalived on the director with:
#   - VRRP instance VI_LB on c-dir (alone on its link, so it becomes MASTER), with a
#     PASS password that must never show up in lvsmon's output;
#   - TCP 10.0.0.100:80 rr (quorum 2) and TCP 10.0.0.100:8080 wrr, both with rs1 and
#     rs2 as real servers (one real server in two virtual services), TCP_CHECK each.
# Dumps (JSON, STATS, DATA) are taken with everything up (keepalived/initial/), then
# rs2's httpd is killed, the checkers take rs2 out of both services (quorum of :80 is
# lost), and the dumps are taken again (keepalived/). The standard capture shows that
# final state; lvsmon, when present, reads the same keepalived (lvsmon-keepalived.*).
nat_topology 4
KA=/tmp/ka
mkdir -p $KA/tmp
cat > $KA/keepalived.conf <<'CONF'
global_defs {
    router_id lvsvm-director
}
vrrp_instance VI_LB {
    state MASTER
    interface c-dir
    virtual_router_id 77
    priority 120
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass vmS3cret
    }
    virtual_ipaddress {
        10.0.0.200/24
    }
}
virtual_server 10.0.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    real_server 10.1.0.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.1.0.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
virtual_server 10.0.0.100 8080 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.1.0.12 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
CONF
cp $KA/keepalived.conf "$CAP/keepalived.conf"
TMPDIR=$KA/tmp keepalived -n -l -D -f $KA/keepalived.conf -p /run/keepalived.pid \
    -r $KA/vrrp.pid -c $KA/check.pid > $KA/console.log 2>&1 &

# wait_for SECONDS CMD...: poll CMD once a second until it succeeds
wait_for() {
    n=$1; shift
    while [ "$n" -gt 0 ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1; n=$((n - 1))
    done
    echo "wait_for: gave up on: $*"
    return 1
}
ka_master() { grep -q 'Entering MASTER STATE' $KA/console.log; }
rs2_in_ipvs() { ipvsadm -Ln | grep -q '10.1.0.12:80'; }
rs2_gone() { ! rs2_in_ipvs; }
# ka_dump DIR: signal JSON, STATS and DATA and copy the files once they stop growing
ka_dump() {
    d=$1; mkdir -p "$d"
    pid=$(cat /run/keepalived.pid)
    rm -f $KA/tmp/keepalived*
    for f in JSON STATS DATA; do kill -"$(keepalived --signum=$f)" "$pid"; done
    for f in keepalived.json keepalived.stats keepalived_check.data; do
        wait_for 10 test -s "$KA/tmp/$f"
        s0=-1
        while [ "$(wc -c < "$KA/tmp/$f")" != "$s0" ]; do s0=$(wc -c < "$KA/tmp/$f"); sleep 1; done
        cp "$KA/tmp/$f" "$d/$f"
    done
    ipvsadm -Ln > "$d/ipvsadm-Ln.txt" 2>&1
}
run wait_for 30 ka_master
run wait_for 30 rs2_in_ipvs
sleep 2
run ka_dump "$CAP/keepalived/initial"
for p in $($IP netns pids rs2); do
    case "$(cat /proc/$p/comm 2>/dev/null)" in httpd) run kill "$p" ;; esac
done
run wait_for 30 rs2_gone
sleep 2
run ka_dump "$CAP/keepalived"

scenario_post_capture() {
    cp $KA/console.log "$CAP/keepalived/console.log"
    if [ -x /lvsmon/lvsmon ]; then
        /lvsmon/lvsmon dump > "$CAP/lvsmon-keepalived.metrics" 2> "$CAP/lvsmon-keepalived.stderr"
        echo "exit $?" > "$CAP/lvsmon-keepalived.status"
    fi
    kill "$(cat /run/keepalived.pid)"
}
