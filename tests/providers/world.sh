# shellcheck shell=bash
# world.sh - sourced by tests/providers/test_provider_replicas.sh: brings up
# the provider-replica world in a network namespace of its own and takes it
# down again. Same shape as tests/replies/world.sh.
#
# The world (tests/providers/world.json, laid out by plan.py):
#   11.23.0.1      NSD, authoritative for the root zone '.' (SOA and NS only,
#                  so every other name is NXDOMAIN), the providers' zones
#                  (google.com, outlook.com, yahoodns.net, icloud.com,
#                  pphosted.com, ...) holding their real MX host names, and the
#                  customer domains (gmail.com, yahoo.com, m365-tenant.net,
#                  pp-customer.net, ...) whose MX records point at them;
#                  /etc/netns/NS/resolv.conf points there
#   11.23.1.x      the MX hosts: one scripted replica process per instance
#                  (tests/scripted_smtp.py --replica replicas.json --provider
#                  PROFILE), listening on port 25 of each of its hosts'
#                  addresses, STARTTLS with a throwaway self-signed
#                  certificate when openssl is there; each logs every command
#                  to DIR/smtp-NAME.log
#   11.23.250.1    a client address on lo that every replica blocks
#                  (--block-from): `bouncecheck verify --source-ip 11.23.250.1`
#                  meets each provider's block reply at its stage
# Nothing listens outside the namespace and no test traffic leaves it.
#
# Functions (call them in the script's own shell, not in $(...)):
#   pw_up DIR      lays out the world in DIR and starts it; sets PW_NS, PW_DNS,
#                  PW_LISTED; returns 1 with a message on stderr when something
#                  fails (call pw_down then)
#   pw_down        stops everything pw_up started and deletes the namespace;
#                  safe to call twice and after a failed pw_up
#   pw_exec CMD... runs CMD inside the namespace
# Needs root, ip, nsd and /usr/bin/python3.

PW_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PW_TESTS=$(cd "$PW_HERE/.." && pwd)
PW_NS=""
PW_DIR=""
PW_PIDS=()
PW_DNS=""
PW_LISTED=""

# shellcheck source=tests/world/wait_for.sh
. "$PW_TESTS/world/wait_for.sh"
# shellcheck source=tests/world/ns_world.sh
. "$PW_TESTS/world/ns_world.sh"

pw_exec() { ip netns exec "$PW_NS" "$@"; }

# pw_bg NAME CMD... - starts CMD in the namespace in the background, output
# in $PW_DIR/NAME.out; remembers its pid.
pw_bg() {
    local name=$1
    shift
    ip netns exec "$PW_NS" "$@" > "$PW_DIR/$name.out" 2>&1 < /dev/null &
    PW_PIDS+=("$!")
}

pw_up() {
    local dir=$1 a z f nsd_bin name profile addrs extra tls=() listen=() x
    PW_DIR=$dir
    mkdir -p "$dir" || return 1
    /usr/bin/python3 "$PW_HERE/plan.py" "$PW_HERE/world.json" "$PW_HERE/replicas.json" "$dir" ||
        { echo "world.sh: plan.py failed" >&2; return 1; }
    PW_DNS=$(sed -n 's/^DNS=//p' "$dir/world.env")
    PW_LISTED=$(sed -n 's/^LISTED=//p' "$dir/world.env")
    PW_NS="bcreplicas-$$"
    ip netns add "$PW_NS" || { echo "world.sh: ip netns add $PW_NS failed" >&2; PW_NS=""; return 1; }
    ip -n "$PW_NS" link set lo up || return 1
    while read -r a; do
        echo "address add $a/32 dev lo"
    done < "$dir/addrs.list" | ip -n "$PW_NS" -batch - ||
        { echo "world.sh: adding the addresses failed" >&2; return 1; }
    mkdir -p "/etc/netns/$PW_NS"
    echo "nameserver $PW_DNS" > "/etc/netns/$PW_NS/resolv.conf"

    nsd_bin=$(nsd_conf_write "$dir" "$PW_DNS") || return 1
    # In a process group of its own (NSD signals its group when it stops).
    pw_bg nsd setsid "$nsd_bin" -d -c "$dir/nsd.conf"
    wait_for "$dir/nsd.log" "nsd started" 10 ||
        { echo "world.sh: nsd did not start: $(cat "$dir/nsd.log" "$dir/nsd.out" 2>/dev/null)" >&2; return 1; }

    # Every provider offers STARTTLS; the replicas do when a certificate can be made.
    if command -v openssl > /dev/null 2>&1 &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mx.bcreplicas.net" \
            -keyout "$dir/tls.key" -out "$dir/tls.crt" > "$dir/openssl.out" 2>&1; then
        tls=(--cert "$dir/tls.crt" --key "$dir/tls.key")
    fi
    while IFS=$'\t' read -r name profile addrs extra; do
        listen=()
        IFS=, read -r -a x <<< "$addrs"
        for a in "${x[@]}"; do listen+=(--listen "$a:25"); done
        # shellcheck disable=SC2086  # extra: plain words from world.json
        pw_bg "smtp-$name" /usr/bin/python3 "$PW_TESTS/scripted_smtp.py" "${listen[@]}" --mode normal \
            --replica "$PW_HERE/replicas.json" --provider "$profile" --block-from "$PW_LISTED" \
            "${tls[@]}" --log "$dir/smtp-$name.log" $extra
    done < "$dir/instances.tsv"
    while IFS=$'\t' read -r name profile addrs extra; do
        wait_for "$dir/smtp-$name.out" ready 15 ||
            { echo "world.sh: replica $name did not start: $(cat "$dir/smtp-$name.out")" >&2; return 1; }
    done < "$dir/instances.tsv"

    # The world answers as laid out: the root's NS, NXDOMAIN for a random
    # name, every MX host's address, and Gmail's replica's answers to RCPT.
    pw_exec /usr/bin/python3 - "$dir/hosts.tsv" <<'EOC' ||
import smtplib, socket, sys
hosts = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
for host, ip, _ in hosts:
    if socket.gethostbyname(host) != ip:
        sys.exit("%s does not resolve to %s" % (host, ip))
try:
    socket.gethostbyname("no-such-name-12345.example-nx.net")
    sys.exit("a random name resolves")
except socket.gaierror:
    pass
s = smtplib.SMTP(hosts[0][1], 25, local_hostname="selfcheck.bcreplicas.net", timeout=10)
s.ehlo()
s.mail("selfcheck@bcreplicas.net")
c1, _ = s.rcpt("exists-selfcheck@gmail.com")
c2, _ = s.rcpt("nouser-selfcheck@gmail.com")
s.quit()
if (c1, c2) != (250, 550):
    sys.exit("Gmail's replica answered %d/%d to exists/nouser" % (c1, c2))
EOC
        { echo "world.sh: the world does not answer as laid out (see $dir)" >&2; return 1; }
    return 0
}

pw_down() {
    ns_world_down "$PW_NS" "${PW_PIDS[@]}"
    PW_PIDS=()
    PW_NS=""
}
