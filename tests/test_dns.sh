#!/bin/bash
# test_dns.sh - runs tests/test_dns (argument 1) against a real NSD serving
# zones written here, on 127.0.0.1 at a free high port (started and stopped
# by tests/nsd_local.sh). Prints TAP.
set -u

exe=${1:?usage: test_dns.sh path/to/test_dns}
# shellcheck source=tests/nsd_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/nsd_local.sh"
nsd_local_begin dns
work=$NSD_LOCAL_WORK

# Two ports free for UDP and TCP: one for NSD, one where nothing listens.
read -r port dead_port < <(nsd_local_ports 2)

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

nsd_local_start "$work" "$port" bc.test neg.test || exit 1

BC_TEST_DNS="127.0.0.1:$port" BC_TEST_DEAD_DNS="127.0.0.1:$dead_port" \
    BC_TEST_NSD_PGID="$NSD_LOCAL_PGID" "$exe"
rc=$?
if [ $rc -ne 0 ]; then
    nsd_local_show_log
fi
exit $rc
