#!/bin/sh
# Boot a real Debian kernel with IPVS under QEMU (TCG), run IPVS scenarios
# inside it and bring back byte-exact captures of /proc/net/ip_vs* and of
# ipvsadm's outputs.
#
# usage: tests/vm/run.sh [options] SCENARIO... | all
#   --lvsmon PATH   also run `PATH dump` in the guest and bring back its output
#   --out DIR       where captures go (default: tests/fixtures/kernel)
#   --one-boot      run all scenarios in a single boot (modules reloaded between)
#   --smp N         guest CPUs (default 2)
#   --timeout S     per-boot timeout in seconds (default 300, 900 with --one-boot)
#   --keep          keep the raw serial logs in tests/vm/cache/run/
# Run tests/vm/setup.sh first.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE="$HERE/cache"
OUT="$ROOT/tests/fixtures/kernel"
LVSMON=
ONEBOOT=
SMP=${LVSMON_VM_SMP:-2}
TMO=
KEEP=
SCENARIOS=

while [ $# -gt 0 ]; do
    case "$1" in
        --lvsmon) LVSMON=$2; shift 2 ;;
        --lvsmon=*) LVSMON=${1#*=}; shift ;;
        --out) OUT=$2; shift 2 ;;
        --out=*) OUT=${1#*=}; shift ;;
        --one-boot) ONEBOOT=1; shift ;;
        --smp) SMP=$2; shift 2 ;;
        --timeout) TMO=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        all) SCENARIOS="$SCENARIOS $(cd "$HERE/scenarios" && ls *.sh | sed 's/\.sh$//' | tr '\n' ' ')"; shift ;;
        *) SCENARIOS="$SCENARIOS $1"; shift ;;
    esac
done
if [ -z "$TMO" ]; then if [ -n "$ONEBOOT" ]; then TMO=900; else TMO=300; fi; fi
[ -n "$SCENARIOS" ] || { echo "usage: run.sh [--lvsmon PATH] [--out DIR] SCENARIO...|all" >&2; exit 2; }
for s in $SCENARIOS; do
    [ -f "$HERE/scenarios/$s.sh" ] || { echo "run.sh: no scenario $s (tests/vm/scenarios/$s.sh)" >&2; exit 2; }
done

KDIR="$CACHE/kernel"
[ -f "$CACHE/kernel.version" ] || { echo "run.sh: run tests/vm/setup.sh first" >&2; exit 2; }
KVER=$(cat "$CACHE/kernel.version")
VMLINUZ="$KDIR/boot/vmlinuz-$KVER"
[ -f "$VMLINUZ" ] || { echo "run.sh: missing $VMLINUZ; run tests/vm/setup.sh" >&2; exit 2; }
case "$OUT" in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac
mkdir -p "$OUT"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lvsvm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

# ---------------------------------------------------------------- initramfs
t_build0=$(date +%s)
R="$WORK/root"
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/lib" "$R/etc" "$R/proc" \
         "$R/sys" "$R/dev" "$R/run" "$R/tmp" "$R/scenarios" "$R/www" "$R/var"
ln -s ../run "$R/var/run"

cp /bin/busybox "$R/bin/busybox"      # busybox-static
# real programs that must win over busybox applets of the same name
REAL="/usr/sbin/ipvsadm /usr/sbin/keepalived /sbin/ip /usr/bin/socat"
for a in $("$R/bin/busybox" --list); do
    case "$a" in busybox|ip) continue ;; esac   # never link busybox to itself
    [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done

copy_with_libs() {   # copy_with_libs SRC DEST
    src=$1; dst=$2
    mkdir -p "$(dirname "$R$dst")"
    cp -L "$src" "$R$dst"
    ldd "$src" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\//{print $1}' | while read -r lib; do
        [ -e "$R$lib" ] && continue
        mkdir -p "$R$(dirname "$lib")"
        cp -L "$lib" "$R$lib"
    done
}
copy_with_libs "$(command -v ipvsadm)" /sbin/ipvsadm
copy_with_libs "$(command -v keepalived)" /sbin/keepalived
copy_with_libs /sbin/ip /sbin/ip
if command -v socat >/dev/null; then copy_with_libs "$(command -v socat)" /usr/bin/socat; fi
# openssl: the keepalived_checkers scenario's SSL_GET server (s_server) and its certificate
if command -v openssl >/dev/null; then
    copy_with_libs "$(command -v openssl)" /usr/bin/openssl
    if [ -f /usr/lib/ssl/openssl.cnf ]; then
        mkdir -p "$R/usr/lib/ssl" && cp -L /usr/lib/ssl/openssl.cnf "$R/usr/lib/ssl/openssl.cnf"
    fi
fi
# nftables: the kernel_errors scenario makes its namespace track connections
if command -v nft >/dev/null; then copy_with_libs "$(command -v nft)" /usr/sbin/nft; fi
# util-linux's setpriv (busybox's cannot change uid): lvsmon as a non-root user with and
# without CAP_NET_ADMIN
copy_with_libs /usr/bin/setpriv /usr/bin/setpriv
# /lib64 symlink for the dynamic loader on merged-/usr Debian
[ -e "$R/lib64/ld-linux-x86-64.so.2" ] || { mkdir -p "$R/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"; }

if [ -n "$LVSMON" ]; then
    mkdir -p "$R/lvsmon"
    if [ -f "$LVSMON" ]; then
        copy_with_libs "$LVSMON" /lvsmon/lvsmon
        chmod 755 "$R/lvsmon/lvsmon"
    else
        echo "run.sh: warning: --lvsmon $LVSMON does not exist; recording the failure" >&2
        : > "$R/lvsmon/lvsmon"      # present but not executable: the guest records it
        chmod 644 "$R/lvsmon/lvsmon"
    fi
fi

# kernel modules: the dependency closure of what the guest loads
MODS="crc32c_generic libcrc32c nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack ip_vs ip_vs_rr ip_vs_wrr
ip_vs_wlc ip_vs_lc ip_vs_sh ip_vs_mh ip_vs_sed ip_vs_nq ip_vs_dh ip_vs_lblc ip_vs_lblcr ip_vs_fo
ip_vs_ovf ip_vs_pe_sip ip_vs_ftp veth dummy bridge stp llc ipip tunnel4 ip_tunnel ip6_tunnel tunnel6 fou fou6 sctp
nf_tables nft_ct"
mkdir -p "$R/lib/modules/$KVER"
for m in $MODS; do
    modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
    rel=${ko#"$KDIR"}
    mkdir -p "$R$(dirname "$rel")"
    cp "$ko" "$R$rel"
done
cp "$KDIR/lib/modules/$KVER/modules.order" "$KDIR/lib/modules/$KVER/modules.builtin"* "$R/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$R" "$KVER"
echo $MODS | tr ' ' '\n' | grep -vxE 'stp|llc|tunnel4|ip_tunnel|tunnel6' > "$R/etc/lvsvm-modules"

sed -n 's/^CONFIG_HZ=//p' "$KDIR/boot/config-$KVER" > "$R/etc/kernel-hz"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$R/etc/hosts"
echo "hello from a real server" > "$R/www/index.html"
cp "$HERE/guest/init" "$R/init"
cp "$HERE/guest/lvs-lib.sh" "$R/lib/lvs-lib.sh"
chmod 755 "$R/init"
cp "$HERE"/scenarios/*.sh "$R/scenarios/"
INITRD="$WORK/initrd.gz"
( cd "$R" && find . | cpio -o -H newc --quiet | gzip -1 > "$INITRD" )
t_build1=$(date +%s)
echo "initramfs: $(( $(wc -c < "$INITRD") / 1024 )) KiB, built in $((t_build1 - t_build0)) s (kernel $KVER)"

# ---------------------------------------------------------------- boot + decode
[ -n "$KEEP" ] && mkdir -p "$CACHE/run"
FAILS=0
boot() {   # boot TAG SCENARIO,LIST
    tag=$1; list=$2
    con="$WORK/$tag.console"; data="$WORK/$tag.data"
    : > "$data"
    t0=$(date +%s)
    rc=0
    timeout "$TMO" qemu-system-x86_64 -accel tcg -m 1024 -smp "$SMP" -nic none \
        -nographic -monitor none -no-reboot \
        -serial "file:$con" -serial "file:$data" \
        -kernel "$VMLINUZ" -initrd "$INITRD" \
        -append "console=ttyS0 quiet panic=-1 lvsmon.scenarios=$list" \
        </dev/null >"$WORK/$tag.qemu" 2>&1 || rc=$?
    t1=$(date +%s)
    if [ -n "$KEEP" ]; then cp "$con" "$data" "$CACHE/run/"; fi
    if [ $rc != 0 ]; then
        echo "boot $tag: qemu exit $rc after $((t1 - t0)) s (124 = timeout)" >&2
        tail -n 30 "$con" >&2 || true
        cat "$WORK/$tag.qemu" >&2 || true
    fi
    for s in $(echo "$list" | tr ',' ' '); do
        decode "$s" "$data" "$con" "$((t1 - t0))"
    done
}

decode() {   # decode SCENARIO DATAFILE CONSOLEFILE SECONDS
    s=$1; data=$2; con=$3; secs=$4
    hdr=$(tr -d '\r' < "$data" | grep "^LVSMON-BEGIN $s " | head -n1 || true)
    if [ -z "$hdr" ]; then
        echo "FAIL $s: no capture received ($(tr -d '\r' < "$data" | grep "^LVSMON-FAIL $s" || echo "see console below"))"
        tail -n 20 "$con" | tr -d '\r' | sed 's/^/    | /'
        FAILS=$((FAILS + 1)); return
    fi
    size=$(echo "$hdr" | cut -d' ' -f3); sum=$(echo "$hdr" | cut -d' ' -f4)
    tr -d '\r' < "$data" | awk -v b="LVSMON-BEGIN $s " -v e="LVSMON-END $s" '
        index($0, b) == 1 { on = 1; next }
        $0 == e { on = 0; done = 1; next }
        on { print }' | base64 -d > "$WORK/$s.tgz" 2>/dev/null || true
    gotsize=$(wc -c < "$WORK/$s.tgz"); gotsum=$(md5sum < "$WORK/$s.tgz" | cut -d' ' -f1)
    if [ "$gotsize" != "$size" ] || [ "$gotsum" != "$sum" ]; then
        echo "FAIL $s: transfer corrupted (size $gotsize/$size, md5 $gotsum/$sum)"
        FAILS=$((FAILS + 1)); return
    fi
    rm -rf "$WORK/x" && mkdir -p "$WORK/x"
    tar -C "$WORK/x" -xzf "$WORK/$s.tgz"
    if ! ( cd "$WORK/x/$s" && md5sum -c --quiet MD5SUMS ); then
        echo "FAIL $s: per-file md5 mismatch"
        FAILS=$((FAILS + 1)); return
    fi
    rm -f "$WORK/x/$s/MD5SUMS"
    rm -rf "$OUT/$s"
    mv "$WORK/x/$s" "$OUT/$s"
    summarize "$s" "$OUT/$s" "$secs"
}

hex2dec() { printf '%d' "0x$1"; }
summarize() {   # one line per scenario
    s=$1; d=$2; secs=$3
    p="$d/proc/net"
    svc=$(tail -n +4 "$p/ip_vs" | grep -c '^[A-Z]' || true)
    dst=$(grep -c '^  -> [^R]' "$p/ip_vs" || true)
    conns=$(( $(wc -l < "$p/ip_vs_conn") - 1 ))
    tot=$(sed -n 3p "$p/ip_vs_stats" | awk '{print $1" "$2" "$3}')
    set -- $tot
    c=$(hex2dec "${1:-0}"); i=$(hex2dec "${2:-0}"); o=$(hex2dec "${3:-0}")
    st=ok
    if grep -q '^! exit' "$d/setup.log" 2>/dev/null; then st="ok (some setup commands failed: see setup.log)"; fi
    gs=$(sed -n 's/^guest_seconds: //p' "$d/meta.txt")
    extra=
    if [ -f "$d/lvsmon.status" ]; then extra=", lvsmon: $(cat "$d/lvsmon.status"), $(wc -l < "$d/lvsmon.metrics" 2>/dev/null || echo 0) lines"; fi
    echo "$s: $st; $svc services, $dst dests, $conns conn entries; totals conns=$c inpkts=$i outpkts=$o$extra; guest ${gs}s, boot ${secs}s"
}

if [ -n "$ONEBOOT" ]; then
    boot all "$(echo $SCENARIOS | tr ' ' ',')"
else
    for s in $SCENARIOS; do boot "$s" "$s"; done
fi

T_END=$(date +%s)
echo "run.sh: $(echo $SCENARIOS | wc -w) scenario(s), $FAILS failed, $((T_END - t_build0)) s in all"
if [ "$FAILS" != 0 ]; then echo "run.sh: $FAILS scenario(s) failed" >&2; exit 1; fi
exit 0
