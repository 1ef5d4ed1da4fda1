#!/bin/bash
# up.sh DIR - brings up BounceCheck's integration-test world in a new network
# namespace: NSD (authoritative for the bclab-*.net test zones, gmail.com,
# the parents .net/.com and the root that answer NXDOMAIN, and a zone that
# answers REFUSED), a private Postfix instance with
# virtual mailboxes and STARTTLS on two addresses (the second one greylists
# through postgrey), two latency proxies in front of Postfix (300 ms for
# bclab-slow.net; 20 ms for bclab-shared.net, the only MX of 200 domains
# bclab-sh000.net ... bclab-sh199.net, where alice exists), and one scripted
# SMTP server per misbehaviour. Everything it creates is recorded in DIR (an empty
# or new directory) so that down.sh DIR can remove it, also after a failed up.
# Needs root. Prints progress on stderr; on success DIR/world.env describes
# the world (shell syntax: NS=..., DNS=..., ...). Exit status 0 on success.
set -u

dir=${1:?usage: up.sh STATEDIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tests=$(cd "$here/.." && pwd)
mkdir -p "$dir" || exit 1
dir=$(cd "$dir" && pwd)

die() { echo "up.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root for a network namespace"

ns="bcworld-$$"
echo "$ns" > "$dir/netns"
: > "$dir/pids"

# Addresses: public-looking (11.22.0.0/16) so the default safety rule lets
# BounceCheck contact them; one private address for the unsafe_target case.
# All on lo as /32s (one IPv6 /128): the kernels here have no dummy interface type.
DNS=11.22.0.1
MX_OK=11.22.0.10      # Postfix: virtual mailboxes, access maps, STARTTLS
MX_GREY=11.22.0.11    # Postfix, second smtpd with postgrey
MX_SLOW=11.22.0.12    # latency proxy -> MX_OK:25
MX_SHARED=11.22.0.13  # a second latency proxy (20 ms) -> MX_OK:25, the only MX of SHARED_N domains
SHARED_N=200          # bclab-sh000.net ... bclab-sh199.net: one MX address for many domains
MX_DEAD=11.22.0.40    # assigned, nothing listens: connection refused
MX_PRIV=10.99.0.5     # private range: a scripted server, only with --allow-private
# scripted servers: name mode address
scripted=(
    "tarpit tarpit 11.22.0.20"
    "greet421 greet421 11.22.0.21"
    "slowgreet slowgreet 11.22.0.22"
    "endless endless 11.22.0.23"
    "longline longline 11.22.0.24"
    "garbage garbage 11.22.0.25"
    "badtls badtls 11.22.0.26"
    "resetrcpt resetrcpt 11.22.0.27"
    "noutf8 noutf8 11.22.0.28"
    "multi normal 11.22.0.29"
    "errlimit errlimit 11.22.0.31"
    "errsleep errsleep 11.22.0.32"
    "v6 normal 2a0b:bc00::30"
    "private normal $MX_PRIV"
)
IDN_DOMAIN=xn--bcher-lab-q9a.net   # bücher-lab.net

for t in ip nsd openssl postfix postconf postgrey /usr/bin/python3; do
    command -v "$t" >/dev/null 2>&1 || die "missing $t (scripts/deps.sh test)"
done

echo "up.sh: network namespace $ns" >&2
ip netns add "$ns" || die "ip netns add $ns failed"
nsx() { ip netns exec "$ns" "$@"; }
ip -n "$ns" link set lo up || die "lo up"
addrs=("$DNS/32" "$MX_OK/32" "$MX_GREY/32" "$MX_SLOW/32" "$MX_SHARED/32" "$MX_DEAD/32" "$MX_PRIV/32")
for s in "${scripted[@]}"; do
    read -r _ _ a <<< "$s"
    case "$a" in
        "$MX_PRIV") ;;
        *:*) addrs+=("$a/128") ;;   # an IPv6-only MX (global unicast range)
        *) addrs+=("$a/32") ;;
    esac
done
for a in "${addrs[@]}"; do
    ip -n "$ns" addr add "$a" dev lo || die "ip addr add $a"
done
mkdir -p "/etc/netns/$ns"
echo "nameserver $DNS" > "/etc/netns/$ns/resolv.conf"

# bg NAME CMD... - starts CMD in the namespace in the background, output in
# DIR/NAME.out; records the pid in DIR/pids.
bg() {
    local name=$1; shift
    ip netns exec "$ns" "$@" > "$dir/$name.out" 2>&1 < /dev/null &
    echo "$! $name" >> "$dir/pids"
}
# shellcheck source=tests/world/wait_for.sh
. "$here/wait_for.sh"

# ---- DNS -----------------------------------------------------------------
z="$dir/zones"
mkdir -p "$z"
# zfile NAME - the file of zone NAME: NAME.zone, root.zone for the root.
zfile() { if [ "$1" = . ]; then echo root.zone; else echo "$1.zone"; fi; }
# zone NAME BODY - writes a zone file with SOA and NS for NAME.
zone() {
    local origin="$1."
    [ "$1" = . ] && origin=.
    {
        echo "\$ORIGIN $origin"
        echo "\$TTL 300"
        echo "@ IN SOA ns.bclab-ok.net. hostmaster.bclab-ok.net. 1 3600 600 86400 60"
        echo "@ IN NS ns.bclab-ok.net."
        printf '%s\n' "$2"
    } > "$z/$(zfile "$1")"
    zones+=("$1")
}
zones=()
declare -A zone_opts=()   # extra nsd.conf lines of a zone
# The root: names outside the world's zones get NXDOMAIN with an SOA, as on
# the Internet, and ". NS" resolves, so BounceCheck's resolver check passes.
zone . ""
zone net ""          # NXDOMAIN for every other .net name
zone com ""          # NXDOMAIN for gmial.com and friends
# REFUSED for this one (the dns_refused case): NSD refuses queries that a
# zone's allow-query does not admit.
zone bclab-refused.org ""
zone_opts[bclab-refused.org]="    allow-query: 0.0.0.0/0 BLOCKED"
zone bclab-ok.net "@ IN MX 10 mx
mx IN A $MX_OK
ns IN A $DNS"
zone bclab-catchall.net "@ IN MX 10 mx.bclab-ok.net."
zone bclab-grey.net "@ IN MX 10 mx
mx IN A $MX_GREY"
zone bclab-slow.net "@ IN MX 10 mx
mx IN A $MX_SLOW"
zone bclab-backup.net "@ IN MX 10 mx1
@ IN MX 20 mx2
mx1 IN A $MX_DEAD
mx2 IN A $MX_OK"
zone bclab-implicit.net "@ IN A $MX_OK"
zone bclab-nullmx.net "@ IN MX 0 ."
zone bclab-nomail.net "@ IN TXT \"no mail here\""
zone "$IDN_DOMAIN" "@ IN MX 10 mx.bclab-ok.net."
zone gmail.com "@ IN MX 5 mx.bclab-ok.net."
# Many domains, one MX address (a provider's): the per-MX cap counts them together.
zone bclab-shared.net "mx IN A $MX_SHARED"
shared_domains=()
for i in $(seq 0 $((SHARED_N - 1))); do
    d=$(printf 'bclab-sh%03d.net' "$i")
    shared_domains+=("$d")
    zone "$d" "@ IN MX 10 mx.bclab-shared.net."
done
for s in "${scripted[@]}"; do
    read -r name _ a <<< "$s"
    rr=A
    case "$a" in *:*) rr=AAAA ;; esac
    zone "bclab-$name.net" "@ IN MX 10 mx
mx IN $rr $a"
done
{
    cat <<EOF
server:
    ip-address: $DNS
    port: 53
    username: ""
    database: ""
    chroot: ""
    zonesdir: "$z"
    zonelistfile: "$dir/nsd.zonelist"
    xfrdfile: "$dir/nsd.xfrd"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    server-count: 1
    verbosity: 1
    # no response rate limiting: past 200 answers/s it drops answers,
    # which the verifier rightly reads as dns_error (bench/domains)
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
EOF
    for n in "${zones[@]}"; do
        printf 'zone:\n    name: %s\n    zonefile: %s\n' "$n" "$(zfile "$n")"
        [ -z "${zone_opts[$n]:-}" ] || printf '%s\n' "${zone_opts[$n]}"
    done
} > "$dir/nsd.conf"
nsd_bin=$(command -v nsd)
"$(dirname "$nsd_bin")/nsd-checkconf" "$dir/nsd.conf" >&2 || die "nsd-checkconf rejects $dir/nsd.conf"
bg nsd "$nsd_bin" -d -c "$dir/nsd.conf"
wait_for "$dir/nsd.log" "nsd started" 10 || die "nsd did not start: $(cat "$dir/nsd.log" "$dir/nsd.out" 2>/dev/null)"

# ---- TLS certificate ---------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.bclab-ok.net -days 2 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || die "openssl req failed"
chmod 600 "$dir/key.pem"

# ---- postgrey ----------------------------------------------------------
mkdir -p "$dir/postgrey"
chown postgrey:postgrey "$dir/postgrey" 2>/dev/null || true
bg postgrey postgrey --inet=127.0.0.1:10023 --delay=3 --dbdir="$dir/postgrey" \
    --pidfile="$dir/postgrey.pid" --auto-whitelist-clients=0 --lookup-by-host \
    --hostname=mx.bclab-ok.net
# ---- Postfix -------------------------------------------------------------
# Postfix checks that its config directory is root's alone, and creates its
# lock files as the postfix user: queue, data and mail live beside the config,
# and DIR must be searchable by that user.
chmod 755 "$dir"
pf="$dir/postfix"
mkdir -p "$pf" "$dir/pf-queue" "$dir/pf-data" "$dir/pf-mail"
chown postfix "$dir/pf-data" "$dir/pf-mail"
cp /etc/postfix/master.cf "$pf/master.cf"
# No chroot (the queue is ours) and our own smtpd services instead of *:25.
postconf -c "$pf" -M -X smtp/inet 2>/dev/null
postconf -c "$pf" -F '*/*/chroot = n'
cat >> "$pf/master.cf" <<EOF
$MX_OK:smtp inet n - n - - smtpd
$MX_GREY:smtp inet n - n - - smtpd
  -o smtpd_recipient_restrictions=reject_unauth_destination,check_policy_service,inet:127.0.0.1:10023
EOF
mailboxes="alice bob carol sink postmaster full disabled blocked grey1 grey2 selfcheck info jörg"
{
    for u in $mailboxes; do
        for d in bclab-ok.net bclab-grey.net bclab-slow.net bclab-backup.net bclab-implicit.net "$IDN_DOMAIN" gmail.com; do
            echo "$u@$d $d/$u/"
        done
    done
    for d in "${shared_domains[@]}"; do
        echo "alice@$d $d/alice/"
    done
} > "$pf/vmailbox"
printf '%s OK\n' "${shared_domains[@]}" > "$pf/shared_domains"
echo "@bclab-catchall.net sink@bclab-ok.net" > "$pf/valias"
cat > "$pf/rcpt_access" <<EOF
full@bclab-ok.net 552 5.2.2 Mailbox full, quota exceeded
disabled@bclab-ok.net 550 5.2.1 This mailbox is disabled
blocked@bclab-ok.net 554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip
EOF
pfuid=$(id -u postfix) pfgid=$(id -g postfix)
cat > "$pf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/pf-queue
data_directory = $dir/pf-data
maillog_file_prefixes = $dir
maillog_file = $dir/maillog
inet_interfaces = $MX_OK, $MX_GREY
inet_protocols = ipv4
myhostname = mx.bclab-ok.net
mydomain = bclab-ok.net
myorigin = bclab-ok.net
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
smtputf8_enable = yes
smtpd_error_sleep_time = 0
smtpd_tls_cert_file = $dir/cert.pem
smtpd_tls_key_file = $dir/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
virtual_mailbox_domains = bclab-ok.net, bclab-grey.net, bclab-slow.net, bclab-backup.net, bclab-implicit.net, $IDN_DOMAIN, gmail.com, texthash:$pf/shared_domains
virtual_mailbox_maps = texthash:$pf/vmailbox
virtual_alias_domains = bclab-catchall.net
virtual_alias_maps = texthash:$pf/valias
virtual_mailbox_base = $dir/pf-mail
virtual_uid_maps = static:$pfuid
virtual_gid_maps = static:$pfgid
smtpd_recipient_restrictions = check_recipient_access texthash:$pf/rcpt_access, reject_unauth_destination
EOF
echo "$pf" > "$dir/postfix.dir"
nsx postfix -c "$pf" check >&2 || die "postfix check failed"
nsx postfix -c "$pf" start >&2 || die "postfix start failed: $(cat "$dir/maillog" 2>/dev/null)"
wait_for "$dir/maillog" "daemon started" 10 || die "postfix did not start: $(cat "$dir/maillog" 2>/dev/null)"

# ---- latency proxy in front of Postfix ------------------------------------
bg latency /usr/bin/python3 "$tests/latency_proxy.py" --listen "$MX_SLOW:25" --target "$MX_OK:25" --delay-ms 300
bg latency2 /usr/bin/python3 "$tests/latency_proxy.py" --listen "$MX_SHARED:25" --target "$MX_OK:25" --delay-ms 20

# ---- scripted SMTP servers ---------------------------------------------
for s in "${scripted[@]}"; do
    read -r name mode a <<< "$s"
    extra=()
    [ "$name" = slowgreet ] && extra=(--delay 3)   # greets after 3 s
    # Real addresses accepted, everything else (the catch-all probe) unknown.
    bg "smtp-$name" /usr/bin/python3 "$tests/scripted_smtp.py" --listen "$a:25" --mode "$mode" \
        --log "$dir/smtp-$name.log" "${extra[@]}" \
        --reply "*=550 5.1.1 no such user" \
        --reply "alice@bclab-$name.net=250 2.1.5 OK" \
        --reply "bob@bclab-$name.net=250 2.1.5 OK" \
        --reply "carol@bclab-$name.net=250 2.1.5 OK" \
        --reply "jörg@bclab-$name.net=250 2.1.5 OK"
done

# ---- readiness -----------------------------------------------------------
wait_for "$dir/latency.out" ready 10 || die "latency proxy did not start: $(cat "$dir/latency.out")"
wait_for "$dir/latency2.out" ready 10 || die "latency proxy 2 did not start: $(cat "$dir/latency2.out")"
for s in "${scripted[@]}"; do
    read -r name _ _ <<< "$s"
    wait_for "$dir/smtp-$name.out" ready 10 || die "scripted server $name did not start: $(cat "$dir/smtp-$name.out")"
done
# postgrey logs nothing on stdout that marks readiness: wait for its port.
ok=""
for _ in $(seq 1 100); do
    if nsx /usr/bin/python3 -c 'import socket; socket.create_connection(("127.0.0.1", 10023), 1).close()' 2>/dev/null; then
        ok=1; break
    fi
    sleep 0.1
done
[ -n "$ok" ] || die "postgrey did not listen on 127.0.0.1:10023: $(cat "$dir/postgrey.out")"

cat > "$dir/world.env" <<EOF
NS=$ns
DNS=$DNS
MX_OK=$MX_OK
MX_GREY=$MX_GREY
MX_SLOW=$MX_SLOW
MX_DEAD=$MX_DEAD
MX_PRIV=$MX_PRIV
IDN_DOMAIN=$IDN_DOMAIN
STATE=$dir
EOF
echo "up.sh: world $ns is up (state in $dir)" >&2
exit 0
