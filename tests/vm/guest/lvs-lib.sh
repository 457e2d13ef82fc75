# Helpers for the guest /init and the scenario scripts (busybox ash).
# Conventions for scenario scripts (tests/vm/scenarios/NAME.sh, sourced):
#   - the root namespace is the director; create other namespaces with mkns;
#   - use $IP (iproute2), never bare `ip` (busybox's ip has no netns);
#   - generate traffic, then return: the harness waits $SETTLE seconds
#     (rate estimator runs every 2 s) and captures.
#   - set SETTLE=N to change the wait; define scenario_post_capture() to add
#     files under $CAP (the capture directory) after the standard capture.
IP=/sbin/ip
SETTLE=3

log() { echo "lvsvm [$(cut -d' ' -f1 /proc/uptime)]: $*" > /dev/console; }
# run a command, log it (and its failure) into $CAP/setup.log
run() {
    echo "+ [$(cut -d" " -f1 /proc/uptime)] $*" >> "$SETUP_LOG"
    "$@" >> "$SETUP_LOG" 2>&1
    rc=$?
    if [ $rc != 0 ]; then echo "! exit $rc" >> "$SETUP_LOG"; fi
    return $rc
}

# The module list is written by run.sh (one place for host and guest).
MODULES=$(cat /etc/lvsvm-modules)
load_modules() {
    : > /tmp/modules.log
    for m in $MODULES; do
        modprobe "$m" >> /tmp/modules.log 2>&1 || echo "modprobe $m failed" >> /tmp/modules.log
    done
}

# mkns NAME: a network namespace with lo up
mkns() {
    $IP netns add "$1" && $IP -n "$1" link set lo up
}
# nsx NAME CMD...: run a command in a namespace
nsx() { ns=$1; shift; $IP netns exec "$ns" "$@"; }

# Undo everything a scenario may have done (for several scenarios per boot).
reset_world() {
    ipvsadm --stop-daemon master >/dev/null 2>&1
    ipvsadm --stop-daemon backup >/dev/null 2>&1
    ipvsadm -C >/dev/null 2>&1
    killall keepalived socat httpd nc >/dev/null 2>&1
    for ns in $($IP netns list | cut -d' ' -f1); do $IP netns del "$ns"; done
    for l in $($IP -o link show | sed -n 's/^[0-9]*: \([^:@]*\).*/\1/p'); do
        case "$l" in lo|tunl0|ip6tnl0|sit0|gre0|erspan0) ;; *) $IP link del "$l" 2>/dev/null ;; esac
    done
    $IP addr flush dev lo 2>/dev/null; $IP addr add 127.0.0.1/8 dev lo; $IP link set lo up
    # Modules hold global totals (ip_vs_stats) and the connection table: reload.
    sleep 1
    for m in $(lsmod | awk '$1 ~ /^ip_vs_/ {print $1}') ip_vs; do
        rmmod $m 2>/dev/null
    done
    load_modules
}

ipvsadm_all() {   # ipvsadm_all DIR [rest]: all listings (or all but Ln/stats/rate)
    d=$1; mkdir -p "$d"
    if [ "${2:-}" != rest ]; then
        ipvsadm -Ln               > "$d/Ln.txt"              2>&1
        ipvsadm -Ln --stats --exact > "$d/stats.txt"         2>&1
        ipvsadm -Ln --rate --exact  > "$d/rate.txt"          2>&1
    fi
    ipvsadm -Ln --persistent-conn > "$d/persistent-conn.txt" 2>&1
    ipvsadm -Ln --thresholds      > "$d/thresholds.txt"      2>&1
    ipvsadm -L --timeout          > "$d/timeout.txt"         2>&1
    ipvsadm -L --daemon           > "$d/daemon.txt"          2>&1
    ipvsadm -Lnc                  > "$d/connection.txt"      2>&1
    ipvsadm -Sn                   > "$d/save.txt"            2>&1
}

# lvsmon inside the guest, on the live kernel, bracketed by ipvsadm so that the host-side
# tests (tests/vm_netlink.rs) compare only what did not move while lvsmon read it:
#   lvsmon.metrics            --ipvs.source procfs: the /proc collector on the real files
#   lvsmon-conntable.metrics  root, auto (must pick netlink), conntable on; its netlink
#                             conversation is kept in netlink.rec (what --demo replays)
#   lvsmon-capnetadmin.*      uid 65534 with only CAP_NET_ADMIN (as deploy/lvsmon.service)
#   lvsmon-nocaps.*           uid 65534 with no capabilities: auto must fall back to /proc
run_lvsmon() {
    [ -e /lvsmon/lvsmon ] || return 0
    if [ ! -x /lvsmon/lvsmon ]; then
        echo "lvsmon binary not present in initramfs" > "$CAP/lvsmon.status"; return 0
    fi
    LVSMON_AS=
    lvsmon_dump lvsmon --ipvs.source procfs
    ipvsadm_around before
    # Every family (the per-backend rates and thresholds are off by default): the host-side
    # tests compare all of them with ipvsadm.
    lvsmon_dump lvsmon-conntable --collector.ipvs.conntable --collector.ipvs.family-enable '*' \
        --ipvs.netlink-record "$CAP/netlink.rec"
    ipvsadm_around after
    LVSMON_AS="$NOBODY --inh-caps=-all,+net_admin --ambient-caps=+net_admin --bounding-set=-all,+net_admin"
    lvsmon_dump lvsmon-capnetadmin
    LVSMON_AS="$NOBODY --inh-caps=-all --bounding-set=-all"
    lvsmon_dump lvsmon-nocaps
    LVSMON_AS=
}

# uid 65534 through util-linux's setpriv (copied in by run.sh: busybox's cannot change uid)
NOBODY="/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups"

# ipvsadm_around before|after: the rate and stats listings next to lvsmon's netlink read
ipvsadm_around() {
    ipvsadm -Ln --rate --exact  > "$CAP/ipvsadm/rate-$1-lvsmon.txt"  2>&1
    ipvsadm -Ln --stats --exact > "$CAP/ipvsadm/stats-$1-lvsmon.txt" 2>&1
}

# lvsmon_dump NAME [FLAG...]: one `lvsmon dump FLAG...` into $CAP/NAME.*, run through
# $LVSMON_AS (a command prefix such as "$NOBODY ...") when that is set.
lvsmon_dump() {
    name=$1; shift
    # shellcheck disable=SC2086
    $LVSMON_AS /lvsmon/lvsmon dump "$@" > "$CAP/$name.metrics" 2> "$CAP/$name.stderr"
    echo "exit $?" > "$CAP/$name.status"
}

capture() {
    mkdir -p "$CAP/proc/net" "$CAP/ipvsadm" /tmp/after
    # ipvsadm, then /proc, then ipvsadm again; retry (up to 3 times) when
    # something moved in between (the rate estimator runs every 2 s).
    attempt=1
    while :; do
        # The rate estimator runs every 2 s and rates decay for a while after
        # traffic stops: wait for a tick, then read the rate-bearing outputs
        # first and quickly, so that all of them see the same estimate.
        r0=$(tail -n 1 /proc/net/ip_vs_stats)
        i=0
        while [ $i -lt 25 ] && [ "$(tail -n 1 /proc/net/ip_vs_stats)" = "$r0" ]; do
            usleep 100000; i=$((i + 1))
        done
        ipvsadm -Ln --rate --exact  > "$CAP/ipvsadm/rate.txt"  2>&1
        ipvsadm -Ln --stats --exact > "$CAP/ipvsadm/stats.txt" 2>&1
        ipvsadm -Ln                 > "$CAP/ipvsadm/Ln.txt"    2>&1
        for f in ip_vs ip_vs_stats ip_vs_stats_percpu ip_vs_conn ip_vs_conn_sync; do
            cat /proc/net/$f > "$CAP/proc/net/$f" 2>> "$CAP/setup.log"
        done
        ipvsadm -Ln --rate --exact  > /tmp/after/rate.txt   2>&1
        ipvsadm -Ln --stats --exact > /tmp/after/stats.txt  2>&1
        ipvsadm -Ln                 > /tmp/after/Ln.txt     2>&1
        changed=
        for f in rate stats Ln; do
            cmp -s "$CAP/ipvsadm/$f.txt" "/tmp/after/$f.txt" || changed="$changed $f"
        done
        if [ -z "$changed" ] || [ $attempt -ge 3 ]; then break; fi
        attempt=$((attempt + 1))
    done
    # the rest (connection.txt's expiry column ticks every second anyway)
    ipvsadm_all "$CAP/ipvsadm" rest
    rm -rf /tmp/after
    {
        echo "scenario: $SCEN"
        echo "kernel: $(uname -r)"
        echo "ipvsadm: $(ipvsadm --version 2>&1)"
        echo "cpus: $(nproc)"
        echo "possible_cpus: $(cat /sys/devices/system/cpu/possible)"
        echo "hz: $(cat /etc/kernel-hz 2>/dev/null)"
        echo "settle_seconds: $SETTLE"
        echo "capture_attempts: $attempt"
        echo "ipvsadm_changed_during_capture:${changed:- none}"
        echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    } > "$CAP/meta.txt"
    run_lvsmon
    cp /tmp/modules.log "$CAP/modules.log"
}

ship() {
    # base64 of a gzipped tar of the capture dir, plus a manifest of md5 sums
    ( cd "$CAP" && find . -type f ! -name MD5SUMS | sort | xargs md5sum > MD5SUMS )
    tar -C /capture -cf - "$SCEN" | gzip -1 > /tmp/ship.tgz
    sum=$(md5sum < /tmp/ship.tgz | cut -d' ' -f1)
    size=$(wc -c < /tmp/ship.tgz)
    {
        echo "LVSMON-BEGIN $SCEN $size $sum"
        base64 /tmp/ship.tgz
        echo "LVSMON-END $SCEN"
    } > $DATA
    rm -f /tmp/ship.tgz
}

scenario_body() {
    _lvs_t0=$(date +%s)
    SETTLE=3
    $IP link set lo up
    . "/scenarios/$SCEN.sh"
    echo "scenario script returned $?" >> "$SETUP_LOG"
    log "scenario $SCEN: settling ${SETTLE}s"
    sleep "$SETTLE"
    capture
    if command -v scenario_post_capture >/dev/null 2>&1; then scenario_post_capture; fi
    dmesg | grep -iE 'ipvs|ip_vs' > "$CAP/dmesg-ipvs.txt"
    echo "guest_seconds: $(( $(date +%s) - _lvs_t0 ))" >> "$CAP/meta.txt"
}

run_scenario() {
    SCEN=$1
    CAP=/capture/$SCEN
    mkdir -p "$CAP"
    SETUP_LOG=$CAP/setup.log
    : > "$SETUP_LOG"
    log "scenario $SCEN: start"
    if [ ! -f "/scenarios/$SCEN.sh" ]; then
        echo "LVSMON-FAIL $SCEN no-such-scenario" > $DATA
        return
    fi
    # A fresh network namespace for each scenario (its "root" is the director that gets
    # captured): IPVS keeps services, the connection table (persistence templates
    # included, which pin modules for minutes) and the totals per namespace, and all of it
    # goes with the namespace, so one boot can run scenarios one after another cleanly.
    # A child shell: whatever the scenario does to variables, or if it exits, PID 1
    # survives and still ships what was captured.
    export SCEN CAP SETUP_LOG DATA
    unshare -n sh -c '. /lib/lvs-lib.sh; scenario_body' >> "$SETUP_LOG" 2>&1
    echo "scenario subshell exit $?" >> "$SETUP_LOG"
    ship
    log "scenario $SCEN: shipped"
    rm -rf "$CAP"
}

# nat_topology 4|6 [RS2_GATEWAY]
# A client, a director (root ns) and two real servers behind a bridge:
#   v4: client 10.0.0.2 -- 10.0.0.1 director (VIP 10.0.0.100)
#       director br-rs 10.1.0.1 -- rs1 10.1.0.11, rs2 10.1.0.12
#   v6: client fd00:1::2 -- fd00:1::1 director (VIP fd00:1::100)
#       director br-rs fd00:2::1 -- rs1 fd00:2::11, rs2 fd00:2::12
# Real servers route back through the director, except rs2 when
# RS2_GATEWAY is given (an address on the rs network that is not the director).
# Each real server runs busybox httpd on :80 and a socat UDP echo on :53.
nat_topology() {
    fam=$1; rs2gw=${2:-}
    echo 1 > /proc/sys/net/ipv4/ip_forward
    echo 1 > /proc/sys/net/ipv6/conf/all/forwarding
    if [ "$fam" = 6 ]; then
        p=-6; cl=fd00:1::2; dir=fd00:1::1; vip=fd00:1::100; rsn=fd00:2::1; rsp=fd00:2::1; len=64; nd=nodad
    else
        p=-4; cl=10.0.0.2; dir=10.0.0.1; vip=10.0.0.100; rsn=10.1.0.1; rsp=10.1.0.1; len=24; nd=
    fi
    mkns client
    run $IP link add c-dir type veth peer name c-cl
    run $IP link set c-cl netns client
    run $IP addr add $dir/$len dev c-dir $nd
    run $IP addr add $vip/$len dev c-dir $nd
    run $IP link set c-dir up
    run $IP -n client addr add $cl/$len dev c-cl $nd
    run $IP -n client link set c-cl up
    run $IP -n client $p route add default via $dir
    run $IP link add br-rs type bridge
    run $IP addr add $rsn/$len dev br-rs $nd
    run $IP link set br-rs up
    for n in 1 2; do
        mkns rs$n
        run $IP link add rs$n-br type veth peer name rs$n-eth
        run $IP link set rs$n-eth netns rs$n
        run $IP link set rs$n-br master br-rs
        run $IP link set rs$n-br up
        run $IP -n rs$n addr add $rsp$n/$len dev rs$n-eth $nd
        run $IP -n rs$n link set rs$n-eth up
        gw=$rsn
        if [ $n = 2 ] && [ -n "$rs2gw" ]; then gw=$rs2gw; fi
        run $IP -n rs$n $p route add default via $gw
        run nsx rs$n httpd -p 80 -h /www
        nsx rs$n socat UDP$fam-RECVFROM:53,fork EXEC:"/bin/echo pong-rs$n" >/dev/null 2>&1 &
    done
    # let bridge ports reach forwarding state and v6 settle
    sleep 1
}

# wait_log FILE TEXT COUNT SECONDS: until TEXT is in COUNT lines of FILE (a daemon's log,
# which may not exist yet), polled every 0.1 s; says in setup.log when it gives up.
log_count() { n=$(grep -c "$2" "$1" 2>/dev/null); echo "${n:-0}"; }
wait_log() {
    i=0
    while [ "$(log_count "$1" "$2")" -lt "$3" ] && [ $i -lt $(($4 * 10)) ]; do
        usleep 100000; i=$((i + 1))
    done
    [ "$(log_count "$1" "$2")" -ge "$3" ] || echo "wait_log: not $3 x '$2' in $1 after $4 s" >> "$SETUP_LOG"
}

# client_traffic VIP N_TCP N_UDP: N_TCP HTTP requests and N_UDP one-datagram
# UDP exchanges from the client namespace (one shell for the loop: every
# `ip netns exec` and dynamically linked start is slow under TCG).
client_traffic() {
    nsx client sh -c '
        vip=$1; nt=$2; nu=$3; host=$vip; fam=4
        case "$vip" in *:*) host="[$vip]"; fam=6 ;; esac
        ok=0
        for i in $(seq $nt); do
            r=$(printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 $vip 80 2>&1)
            case "$r" in *"hello from a real server"*) ok=$((ok+1)) ;; esac
        done
        echo "tcp: $ok/$nt HTTP requests answered"
        for i in $(seq $nu); do
            echo ping | socat -t1 -T2 - UDP$fam:$host:53 > /tmp/udp.$i 2>&1 &
        done
        wait
        [ "$nu" -gt 0 ] && echo "udp: $(cat /tmp/udp.* | grep -c pong)/$nu datagrams answered"
        rm -f /tmp/udp.*
    ' client_traffic "$@" >> "$SETUP_LOG" 2>&1
}
