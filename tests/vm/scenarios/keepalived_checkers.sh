# keepalived_checkers: every health checker type of keepalived 2.2.7 (real keepalived, -C)
# on a real IPVS director, each driven to failure and back; the console output is kept
# (keepalived/console.log) as tests/fixtures/logs/keepalived-2.2.7-checkers.log for the
# wording and incident tests (tests/incidents_checkers.rs).
#   nat_topology 4; one virtual service per checker, one real server each:
#     TCP 10.0.0.100:80   -> rs1:8081  HTTP_GET   (busybox httpd -f)
#     TCP 10.0.0.100:443  -> rs1:8443  SSL_GET    (openssl s_server -www, self-signed cert
#                                                 made here)
#     TCP 10.0.0.100:8080 -> rs2:8080  TCP_CHECK  (busybox httpd -f)
#     TCP 10.0.0.100:84   -> rs1:8084  TCP_CHECK with inhibit_on_failure (weight 0, not
#                                                 removed: "Disabling"/"Enabling service")
#     TCP 10.0.0.100:81   -> rs2:8082  MISC_CHECK, retry 2, log_all_failures (an HTTP
#                                                 request by busybox nc)
#     TCP 10.0.0.100:82   -> rs2:8083  MISC_CHECK, retry 0 (an HTTP request by busybox nc)
#     UDP 10.0.0.100:53   -> rs1:5300  DNS_CHECK  (socat + a shell answering the query ID
#                                                 with QR set, rcode 0)
#     TCP 10.0.0.100:25   -> rs2:2525  SMTP_CHECK (socat + a shell speaking 220/250/221)
# All responders are stopped at once (each checker takes its real server out), then all
# started again (each puts it back); after the capture keepalived is stopped (its shutdown
# lines end the log). Each step waits for keepalived's own lines, bounded.
nat_topology 4
KC=/tmp/kcheck
mkdir -p "$CAP/keepalived" $KC
LOG="$CAP/keepalived/console.log"

cat > $KC/misc.sh <<'EOF'
#!/bin/sh
# misc.sh ADDR PORT: the real server answers HTTP 200 (busybox nc: Debian's static busybox
# wget crashes with SIGSEGV)
printf 'GET /index.html HTTP/1.0\r\n\r\n' | nc -w 2 "$1" "$2" | grep -q '^HTTP/1\.[01] 200'

EOF
cat > $KC/dns.sh <<'EOF'
#!/bin/sh
# One UDP query on stdin: answer its ID with QR|RD|RA, rcode 0, no records, in one write.
f=/tmp/kcheck/dns.$$
dd bs=2 count=1 of=$f 2>/dev/null
printf '\201\200\0\0\0\0\0\0\0\0' >> $f
cat $f
rm -f $f
EOF
cat > $KC/smtp.sh <<'EOF'
#!/bin/sh
printf '220 rs2 ESMTP lvsvm\r\n'
read -r l
printf '250 rs2\r\n'
read -r l
printf '221 rs2 bye\r\n'
EOF
chmod 755 $KC/misc.sh $KC/dns.sh $KC/smtp.sh

HAVE_SSL=
if command -v openssl >/dev/null 2>&1 &&
    run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj /CN=rs1 -days 2 -keyout $KC/key.pem -out $KC/cert.pem; then
    HAVE_SSL=1
fi

cat > $KC/keepalived.conf <<'CONF'
global_defs {
    router_id lbvm
}
virtual_server 10.0.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 8081 {
        HTTP_GET {
            url {
                path /index.html
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
virtual_server 10.0.0.100 8080 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.12 8080 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
virtual_server 10.0.0.100 84 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 8084 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
virtual_server 10.0.0.100 81 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.12 8082 {
        MISC_CHECK {
            misc_path "/tmp/kcheck/misc.sh 10.1.0.12 8082"
            misc_timeout 3
            retry 2
            delay_before_retry 1
            log_all_failures
        }
    }
}
virtual_server 10.0.0.100 82 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.12 8083 {
        MISC_CHECK {
            misc_path "/tmp/kcheck/misc.sh 10.1.0.12 8083"
            misc_timeout 3
            retry 0
        }
    }
}
virtual_server 10.0.0.100 53 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server 10.1.0.11 5300 {
        DNS_CHECK {
            type A
            name lvs.test
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
virtual_server 10.0.0.100 25 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.12 2525 {
        SMTP_CHECK {
            helo_name lbvm
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }
    }
}
CONF
if [ -n "$HAVE_SSL" ]; then
    cat >> $KC/keepalived.conf <<'CONF'
virtual_server 10.0.0.100 443 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 8443 {
        SSL_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }
    }
}
CONF
fi
cp $KC/keepalived.conf "$CAP/keepalived/keepalived.conf"

# The responders; `ip netns exec` execs each program, so $! is the program itself.
start_servers() {
    $IP netns exec rs1 httpd -f -p 8081 -h /www & P_HTTP=$!
    $IP netns exec rs2 httpd -f -p 8080 -h /www & P_TCP=$!
    $IP netns exec rs1 httpd -f -p 8084 -h /www & P_INH=$!
    $IP netns exec rs2 httpd -f -p 8082 -h /www & P_MISC=$!
    $IP netns exec rs2 httpd -f -p 8083 -h /www & P_MISC0=$!
    $IP netns exec rs1 socat UDP4-RECVFROM:5300,fork EXEC:$KC/dns.sh & P_DNS=$!
    $IP netns exec rs2 socat TCP4-LISTEN:2525,fork,reuseaddr EXEC:$KC/smtp.sh & P_SMTP=$!
    P_SSL=
    if [ -n "$HAVE_SSL" ]; then
        $IP netns exec rs1 openssl s_server -quiet -www -accept 8443 \
            -cert $KC/cert.pem -key $KC/key.pem </dev/null >/dev/null 2>&1 & P_SSL=$!
    fi
    echo "servers: http $P_HTTP tcp $P_TCP inhibit $P_INH misc $P_MISC misc0 $P_MISC0 dns $P_DNS smtp $P_SMTP ssl $P_SSL" >> "$SETUP_LOG"
}
stop_servers() {
    for p in $P_HTTP $P_TCP $P_INH $P_MISC $P_MISC0 $P_DNS $P_SMTP $P_SSL; do kill "$p"; done
}
N_RS=6
if [ -n "$HAVE_SSL" ]; then N_RS=7; fi

start_servers
keepalived -C -n -l -D -G -f $KC/keepalived.conf -p $KC/kc.pid -c $KC/kc.check.pid \
    > "$LOG" 2>&1 &
KC_PID=$!
echo "keepalived pid $KC_PID, ssl: ${HAVE_SSL:-no}" >> "$SETUP_LOG"
# Up: give every checker a few delay loops to succeed once (DNS_CHECK says nothing then).
wait_log "$LOG" "Startup complete" 1 30
sleep 6
stop_servers
wait_log "$LOG" "Removing service" $N_RS 60
wait_log "$LOG" "Disabling service" 1 30
sleep 1
start_servers
wait_log "$LOG" "Adding service" $N_RS 60
wait_log "$LOG" "Enabling service" 1 30
sleep 2
scenario_post_capture() {
    kill "$KC_PID"
    i=0
    while kill -0 "$KC_PID" 2>/dev/null && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
    stop_servers 2>/dev/null
}
