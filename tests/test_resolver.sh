#!/bin/bash
# test_resolver.sh - runs tests/test_resolver (argument 1), the c-ares
# back end of resolver.h, against a real NSD serving zones written here
# (forward, a second zone, a reverse zone) on 127.0.0.1 at a free high port,
# started and stopped by tests/nsd_local.sh. Prints TAP.
set -u

exe=${1:?usage: test_resolver.sh path/to/test_resolver}
# shellcheck source=tests/nsd_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/nsd_local.sh"
nsd_local_begin resolver
work=$NSD_LOCAL_WORK
py=$NSD_LOCAL_PY
ad_pid=""
# shellcheck disable=SC2317 # called by the EXIT trap of nsd_local_begin
nsd_local_on_exit() {
    if [ -n "$ad_pid" ]; then
        kill -TERM "$ad_pid" 2>/dev/null
        wait "$ad_pid" 2>/dev/null
    fi
}

# Two ports free for UDP and TCP: one for NSD, one where nothing listens.
read -r port dead_port < <(nsd_local_ports 2)

long_a=$(printf 'a%.0s' $(seq 1 255))
long_b=$(printf 'b%.0s' $(seq 1 45))

cat > "$work/rv.test.zone" <<EOF
\$ORIGIN rv.test.
\$TTL 300
@             IN SOA  ns.rv.test. hostmaster.rv.test. 1 3600 600 86400 60
@             IN NS   ns
ns            IN A    127.0.0.1
; addresses, in this order, and a record with its own TTL
host          IN A    192.0.2.1
host          IN A    192.0.2.2
host          IN AAAA 2001:db8::1
short      42 IN A    192.0.2.42
; MX: two hosts (one in upper case), and an RFC 7505 null MX
mail          IN MX   20 MX2.RV.Test.
mail          IN MX   10 mx1.rv.test.
nullmx        IN MX   0 .
; TXT: one record of three strings beside another record; a record of
; 300 octets split in two strings; an empty string; SPF (type 99)
txt           IN TXT  "v=spf1 " "ip4:192.0.2.0/24 " "-all"
txt           IN TXT  "second record"
long          IN TXT  "$long_a" "$long_b"
emptytxt      IN TXT  ""
spf99         IN SPF  "v=spf1 ~all"
spf99         IN TXT  "v=spf1 -all"
; CNAME chains, a chain into NODATA, a dangling one, one into another zone
c1            IN CNAME c2
c2            IN CNAME host
cmail         IN CNAME mail
ctxt          IN CNAME txt
cnodata       IN CNAME nodata
dangling      IN CNAME ghost
away          IN CNAME host.other.test.
; a chain leaving every zone NSD serves (it answers the CNAME alone), a loop
outside        IN CNAME host.elsewhere.invalid.
loop1         IN CNAME loop2
loop2         IN CNAME loop1
; a name with TXT only: A, MX, AAAA are NODATA
nodata        IN TXT  "only text"
EOF
# 70 A records: more than BC_RRSET_MAX (64) are kept.
for i in $(seq 1 70); do
    echo "many          IN A    198.51.100.$i" >> "$work/rv.test.zone"
done

cat > "$work/other.test.zone" <<'EOF'
$ORIGIN other.test.
$TTL 300
@             IN SOA  ns.rv.test. hostmaster.rv.test. 1 3600 600 86400 60
@             IN NS   ns.rv.test.
host          IN A    192.0.2.99
EOF

cat > "$work/2.0.192.in-addr.arpa.zone" <<'EOF'
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@             IN SOA  ns.rv.test. hostmaster.rv.test. 1 3600 600 86400 60
@             IN NS   ns.rv.test.
1             IN PTR  host.rv.test.
2             IN PTR  host.rv.test.
2             IN PTR  Alias.RV.test.
EOF

nsd_local_start "$work" "$port" rv.test other.test 2.0.192.in-addr.arpa || exit 1

# A stand-in for a validating resolver (NSD, authoritative, never sets AD):
# through dnspython it answers ad.test A 192.0.2.7 with the AD bit only to a
# query that itself has AD set and carries EDNS0, and REFUSED otherwise.
ad_env=()
if "$py" -c 'import dns.message' 2>/dev/null; then
    "$py" - "$work/ad.port" > "$work/ad.log" 2>&1 <<'EOF' &
import os, socket, sys
import dns.flags, dns.message, dns.rcode, dns.rrset
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    data, peer = s.recvfrom(4096)
    try:
        q = dns.message.from_wire(data)
    except Exception as e:
        print("bad query:", e, flush=True)
        continue
    r = dns.message.make_response(q)
    if (q.flags & dns.flags.AD) and q.edns >= 0:
        r.flags |= dns.flags.AD
        r.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "A", "192.0.2.7"))
    else:
        print("query without AD or EDNS:", q.flags, q.edns, flush=True)
        r.set_rcode(dns.rcode.REFUSED)
    s.sendto(r.to_wire(), peer)
EOF
    ad_pid=$!
    for _ in $(seq 1 50); do
        [ -s "$work/ad.port" ] && break
        sleep 0.1
    done
    [ -s "$work/ad.port" ] && ad_env=(BC_TEST_AD_DNS="127.0.0.1:$(cat "$work/ad.port")")
fi

env "${ad_env[@]}" BC_TEST_DNS="127.0.0.1:$port" BC_TEST_DEAD_DNS="127.0.0.1:$dead_port" "$exe"
rc=$?
if [ $rc -ne 0 ]; then
    nsd_local_show_log
    if [ -s "$work/ad.log" ]; then
        echo "# AD stand-in log:"
        sed 's/^/#   /' "$work/ad.log"
    fi
fi
exit $rc
