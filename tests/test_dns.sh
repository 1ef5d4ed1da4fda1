#!/bin/bash
# test_dns.sh - runs tests/test_dns (argument 1) against a real NSD serving
# zones written here, on 127.0.0.1 at a free high port. Prints TAP.
set -u

exe=${1:?usage: test_dns.sh path/to/test_dns}
nsd_bin=$(command -v nsd || echo /usr/sbin/nsd)
if [ ! -x "$nsd_bin" ]; then
    echo "1..0 # SKIP nsd is not installed (Debian package nsd)"
    exit 0
fi

py=/usr/bin/python3
[ -x "$py" ] || py=python3

work=$(mktemp -d /tmp/bc-test-dns.XXXXXX)
nsd_pgid=""
cleanup() {
    if [ -n "$nsd_pgid" ]; then
        kill -CONT -- "-$nsd_pgid" 2>/dev/null
        kill -TERM -- "-$nsd_pgid" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 -- "-$nsd_pgid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL -- "-$nsd_pgid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Two ports free for UDP and TCP: one for NSD, one where nothing listens.
read -r port dead_port < <("$py" - <<'EOF'
import socket
ports = []
while len(ports) < 2:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close()
        continue
    ports.append(p)
    t.close()
    u.close()
print(ports[0], ports[1])
EOF
)

cat > "$work/bc.test.zone" <<'EOF'
$ORIGIN bc.test.
$TTL 300
@             IN SOA  ns.bc.test. hostmaster.bc.test. 1 3600 600 86400 60
@             IN NS   ns
ns            IN A    127.0.0.1
; several MX: two at 10 (a tie), 20, 30 (mixed case target, only AAAA)
multi         IN MX   20 mx2.multi
multi         IN MX   10 mx1.multi
multi         IN MX   30 MX3.Multi
multi         IN MX   10 mx1b.multi
mx1.multi     IN A    192.0.2.1
mx1.multi     IN A    192.0.2.11
mx1.multi     IN AAAA 2001:db8::1
mx1b.multi    IN A    192.0.2.3
mx2.multi     IN A    192.0.2.2
mx3.multi     IN AAAA 2001:db8::3
; RFC 7505 null MX, alone and beside a real one
nullmx        IN MX   0 .
nullmix       IN MX   0 .
nullmix       IN MX   10 mx2.multi
; no MX: implicit MX from A+AAAA, directly and through a CNAME
implicit      IN A    192.0.2.10
implicit      IN AAAA 2001:db8::10
alias         IN CNAME implicit
; no MX and no address
nodata        IN TXT  "no mail here"
; MX hosts that do not exist / have no address
noaddr        IN MX   10 ghost
noaddr        IN MX   20 empty
empty         IN TXT  "exists, no address"
; IDN (buecher) in A-labels
xn--bcher-kva IN MX   10 mx2.multi
; a 1 s TTL
short       1 IN MX   10 mx2.multi
; for coalescing
coal          IN MX   10 mxc
mxc           IN A    192.0.2.20
EOF

# A zone whose negative answers live 1 s (SOA MINIMUM 1, SOA TTL 300).
cat > "$work/neg.test.zone" <<'EOF'
$ORIGIN neg.test.
$TTL 300
@             IN SOA  ns.bc.test. hostmaster.bc.test. 1 3600 600 86400 1
@             IN NS   ns.bc.test.
EOF

cat > "$work/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1
    port: $port
    username: ""
    database: ""
    chroot: ""
    zonesdir: "$work"
    zonelistfile: "$work/zone.list"
    xfrdfile: "$work/xfrd.state"
    xfrdir: "$work"
    pidfile: "$work/nsd.pid"
    logfile: "$work/nsd.log"
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: bc.test
    zonefile: bc.test.zone
zone:
    name: neg.test
    zonefile: neg.test.zone
EOF

fail_setup() {
    echo "1..1"
    echo "not ok 1 - $1"
    sed 's/^/# /' "$work/nsd.log" "$work/nsd.out" 2>/dev/null
    exit 1
}

if ! "$(dirname "$nsd_bin")/nsd-checkconf" "$work/nsd.conf" > "$work/nsd.out" 2>&1; then
    fail_setup "nsd-checkconf accepts the generated nsd.conf"
fi

# Not a process-group leader here (no job control), so setsid does not
# fork: $! is NSD's pid and the id of a new group holding all its processes.
setsid "$nsd_bin" -d -c "$work/nsd.conf" > "$work/nsd.out" 2>&1 &
nsd_pgid=$!

for _ in $(seq 1 50); do
    grep -q "nsd started" "$work/nsd.log" 2>/dev/null && break
    kill -0 "$nsd_pgid" 2>/dev/null || break
    sleep 0.1
done
grep -q "nsd started" "$work/nsd.log" 2>/dev/null || fail_setup "nsd started on 127.0.0.1:$port"
sleep 0.2

BC_TEST_DNS="127.0.0.1:$port" BC_TEST_DEAD_DNS="127.0.0.1:$dead_port" \
    BC_TEST_NSD_PGID="$nsd_pgid" "$exe"
rc=$?
if [ $rc -ne 0 ]; then
    echo "# NSD log:"
    sed 's/^/#   /' "$work/nsd.log"
fi
exit $rc
