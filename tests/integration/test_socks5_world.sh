#!/bin/bash
# test_socks5_world.sh BOUNCECHECK - `bouncecheck verify --proxy` through a
# real SOCKS5 server (microsocks) in a network namespace of its own:
#
#   127.0.0.1:PORT  NSD (tests/nsd_local.sh): the root zone and socks-lab.net
#   11.22.5.1:1080  microsocks, no authentication; its outgoing connections
#                   leave from 11.22.5.2 (-b), which is how the SMTP servers
#                   can tell that a session came through it
#   11.22.5.1:1081  microsocks with user alice and a password holding ':' and
#                   '@' (given percent-encoded in the URL)
#   11.22.5.3:1080  a "proxy" that accepts TCP and never answers
#   11.22.5.10:25   scripted SMTP server (tests/scripted_smtp.py): the MX of
#                   socks-lab.net
#   11.22.5.11:25   the same with STARTTLS: the MX of tls.socks-lab.net
#   10.9.9.10:25    the same on a private address: private.socks-lab.net
#   11.22.5.12      an address where nothing listens: refused.socks-lab.net
#   11.22.5.30      the verifier's own address (--source-ip)
#
# The script re-runs itself inside the namespace (--inside) so that the test
# traffic never leaves it. Needs root; skips otherwise. Prints TAP.
# BC_SOCKS5_KEEP=1 keeps the work directory; BC_SOCKS5_WIDTH=N shows N
# characters of each output line of a failed check (default 400).
set -u

if [ "${1:-}" != --inside ]; then
    bin=${1:?usage: test_socks5_world.sh path/to/bouncecheck}
    case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
    if [ "$(id -u)" -ne 0 ]; then
        echo "1..0 # SKIP needs root (network namespace)"
        exit 0
    fi
    for t in ip nsd microsocks openssl /usr/bin/python3; do
        command -v "$t" > /dev/null 2>&1 ||
            { echo "1..0 # SKIP $t is not installed (scripts/deps.sh test)"; exit 0; }
    done
    [ -x "$bin" ] || { echo "1..1"; echo "not ok 1 - $bin is executable"; exit 1; }
    ns="bcsocks5-$$"
    # shellcheck disable=SC2317 # run by the EXIT trap
    down() {
        local p
        # everything still inside the namespace was started by this test
        for p in $(ip netns pids "$ns" 2> /dev/null); do kill -KILL "$p" 2> /dev/null; done
        ip netns del "$ns" 2> /dev/null
    }
    trap down EXIT
    trap 'exit 1' INT TERM
    if ! { ip netns add "$ns" && ip -n "$ns" link set lo up &&
           for a in 11.22.5.1 11.22.5.2 11.22.5.3 11.22.5.10 11.22.5.11 11.22.5.12 11.22.5.30 10.9.9.10; do
               echo "address add $a/32 dev lo"
           done | ip -n "$ns" -batch -; } 2> /tmp/bc-socks5-$$.err; then
        echo "1..1"
        echo "not ok 1 - the network namespace $ns is set up"
        sed 's/^/# /' "/tmp/bc-socks5-$$.err"
        rm -f "/tmp/bc-socks5-$$.err"
        exit 1
    fi
    rm -f "/tmp/bc-socks5-$$.err"
    ip netns exec "$ns" /bin/bash "${BASH_SOURCE[0]}" --inside "$bin"
    exit $?
fi

# ---- inside the namespace ------------------------------------------------------------
bin=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tests=$(cd "$here/.." && pwd)
# shellcheck source=tests/nsd_local.sh
. "$tests/nsd_local.sh"
# shellcheck source=tests/world/wait_for.sh
. "$tests/world/wait_for.sh"

nsd_local_begin socks5
work=$NSD_LOCAL_WORK
pids=()
nsd_local_on_exit() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2> /dev/null; done
    if [ "${BC_SOCKS5_KEEP:-0}" = 1 ]; then
        echo "# work directory kept: $work.kept"
        cp -a "$work" "$work.kept"
    fi
}

bail() {
    echo "1..1"
    echo "not ok 1 - $1"
    [ -z "${2:-}" ] || sed 's/^/# /' "$2"
    exit 1
}

# bg NAME CMD... - runs CMD in the background, output in $work/NAME.out.
bg() {
    local name=$1
    shift
    "$@" > "$work/$name.out" 2>&1 < /dev/null &
    pids+=("$!")
}

# listening IP PORT - true once something accepts TCP connections there.
listening() {
    local i
    for ((i = 0; i < 50; i++)); do
        (exec 3<> "/dev/tcp/$1/$2") 2> /dev/null && return 0
        sleep 0.1
    done
    return 1
}

# ---- DNS --------------------------------------------------------------------------
port=$(nsd_local_ports 1)
# shellcheck disable=SC2016 # the zone file's own $ORIGIN and $TTL
printf '%s\n' '$ORIGIN socks-lab.net.' '$TTL 300' \
    '@ IN SOA ns.socks-lab.net. hostmaster.socks-lab.net. 1 3600 600 86400 60' \
    '@ IN NS ns.socks-lab.net.' 'ns IN A 127.0.0.1' \
    '@ IN MX 10 mx.socks-lab.net.' 'mx IN A 11.22.5.10' \
    'tls IN MX 10 mx-tls.socks-lab.net.' 'mx-tls IN A 11.22.5.11' \
    'private IN MX 10 mx-private.socks-lab.net.' 'mx-private IN A 10.9.9.10' \
    'refused IN MX 10 mx-refused.socks-lab.net.' 'mx-refused IN A 11.22.5.12' > "$work/socks-lab.net.zone"
nsd_local_start "$work" "$port" . socks-lab.net || exit 1

# ---- servers ------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx-tls.socks-lab.net -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" > /dev/null 2>&1 || bail "openssl makes a test certificate"
rules=()
for d in socks-lab.net tls.socks-lab.net private.socks-lab.net; do
    rules+=(--reply "a@$d=250 2.1.5 OK")
done
rules+=(--reply '*=550 5.1.1 User unknown')
smtp=(/usr/bin/python3 "$tests/scripted_smtp.py" --mode normal "${rules[@]}")
bg smtp "${smtp[@]}" --listen 11.22.5.10:25 --log "$work/smtp.log"
bg smtp-tls "${smtp[@]}" --listen 11.22.5.11:25 --log "$work/smtp-tls.log" \
    --cert "$work/cert.pem" --key "$work/key.pem"
bg smtp-private "${smtp[@]}" --listen 10.9.9.10:25 --log "$work/smtp-private.log"
bg tarpit /usr/bin/python3 "$tests/scripted_smtp.py" --mode tarpit --listen 11.22.5.3:1080
password='s3cr:t@pw'
password_url='s3cr%3At%40pw'
bg socks microsocks -i 11.22.5.1 -p 1080 -b 11.22.5.2
bg socks-auth microsocks -i 11.22.5.1 -p 1081 -b 11.22.5.2 -u alice -P "$password"
for s in smtp smtp-tls smtp-private tarpit; do
    wait_for "$work/$s.out" ready 10 || bail "the scripted server $s starts" "$work/$s.out"
done
{ listening 11.22.5.1 1080 && listening 11.22.5.1 1081; } || bail "microsocks listens on 11.22.5.1:1080 and :1081"
: > "$work/smtp.log" # the readiness probes are no sessions

# ---- checks -------------------------------------------------------------------------
n=0
failed=0
nverify=0
unclean=() # verify runs that did not exit 0 silently (a sanitizer report, a crash)
# check DESC CMD... - one TAP line: ok when CMD succeeds; the last verify's
# output as comments when not.
check() {
    local desc=$1
    shift
    n=$((n + 1))
    if "$@"; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        failed=$((failed + 1))
        sed 's/^/# /' "$work/last.json" "$work/last.err" 2> /dev/null | cut -c"1-${BC_SOCKS5_WIDTH:-400}"
    fi
}

# verify ARGS... - bouncecheck verify --json --trace in this world; output in
# $work/last.json and last.err, exit status in $rc, wall time in $secs.
verify() {
    local t0 t1
    t0=$(date +%s%N)
    "$bin" verify --json --trace --dns "127.0.0.1:$port" --helo verify.socks-lab.net \
        --from verify@socks-lab.net --source-ip 11.22.5.30 --timeout 20 --connect-timeout 3 \
        --greeting-timeout 5 --command-timeout 5 "$@" > "$work/last.json" 2> "$work/last.err"
    rc=$?
    t1=$(date +%s%N)
    secs=$(((t1 - t0) / 1000000000))
    nverify=$((nverify + 1))
    if [ "$rc" -ne 0 ] || [ -s "$work/last.err" ]; then
        unclean+=("verify $* -> exit $rc: $(head -c 300 "$work/last.err")")
    fi
}

# result N FIELD - a field of the N-th result of the last verify: status,
# reason, status_reason ("unknown no_connect"), tls, or transcript (the lines).
result() {
    /usr/bin/python3 - "$work/last.json" "$1" "$2" << 'EOF'
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r = rows[int(sys.argv[2])] if int(sys.argv[2]) < len(rows) else {}
f = sys.argv[3]
if f == "status_reason":
    print(r.get("status"), r.get("reason"))
elif f == "tls":
    print(str((r.get("smtp") or {}).get("tls")).lower())
elif f == "transcript":
    print("\n".join(l["line"] for l in r.get("transcript") or []))
else:
    print(r.get(f))
EOF
}

is() { [ "$1" = "$2" ] || { echo "# got '$1', want '$2'"; return 1; }; }
has() { grep -qF -- "$2" <<< "$1" || { echo "# '$2' not in the output"; return 1; }; }
lacks() { ! grep -qF -- "$2" <<< "$1" || { echo "# '$2' is in the output"; return 1; }; }
# peers LOG - the distinct client addresses of the sessions in a server log.
peers() { sed -n 's/^[0-9]* CONNECT \([^:]*\):.*/\1/p' "$1" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
sessions() { grep -c ' CONNECT ' "$1"; }

# 1. Direct, for comparison: the server sees the verifier's own address.
verify a@socks-lab.net
check "direct: a@socks-lab.net is deliverable" is "$(result 0 status_reason)" "deliverable accepted_email"
check "direct: the server sees the verifier's address 11.22.5.30" is "$(peers "$work/smtp.log")" 11.22.5.30
: > "$work/smtp.log"

# 2. Through the proxy: same answers, and the server sees the proxy's outgoing address.
verify --proxy socks5://11.22.5.1:1080 a@socks-lab.net nobody@socks-lab.net
check "proxy: exit 0" is "$rc" 0
check "proxy: a@socks-lab.net is deliverable" is "$(result 0 status_reason)" "deliverable accepted_email"
check "proxy: nobody@socks-lab.net is undeliverable (550 through the tunnel)" \
    is "$(result 1 status_reason)" "undeliverable rejected_email"
check "proxy: the server sees only the proxy's outgoing address 11.22.5.2" is "$(peers "$work/smtp.log")" 11.22.5.2
t=$(result 0 transcript)
check "proxy: transcript says 'connecting to proxy 11.22.5.1:1080'" has "$t" "connecting to proxy 11.22.5.1:1080"
check "proxy: transcript says 'SOCKS5 CONNECT 11.22.5.10:25 via proxy'" has "$t" "SOCKS5 CONNECT 11.22.5.10:25 via proxy"
check "proxy: transcript says the tunnel is established" has "$t" "SOCKS5 tunnel established (bound 0.0.0.0:0)"
check "proxy: the SMTP conversation follows in the transcript" has "$t" "220 mx.example ESMTP scripted"
: > "$work/smtp.log"

# 2b. A provider rule's own proxy (--providers): no --proxy on the command line,
# yet the connection to that provider's MX goes through the proxy.
printf '{"providers": [{"name": "sockslab", "label": "Socks Lab", "mx": ["mx.socks-lab.net"], "rcpt": "reliable",\n  "proxy": "socks5://11.22.5.1:1080"}]}\n' > "$work/providers.json"
verify --providers "$work/providers.json" a@socks-lab.net
check "provider proxy: deliverable, provider named" is "$(result 0 status_reason) $(result 0 provider)" \
    "deliverable accepted_email sockslab"
check "provider proxy: the server sees only the proxy's outgoing address 11.22.5.2" \
    is "$(peers "$work/smtp.log")" 11.22.5.2
: > "$work/smtp.log"
verify --providers "$work/providers.json" --no-starttls nobody@socks-lab.net
check "provider proxy: a mailbox verdict through it too" is "$(result 0 status_reason)" "undeliverable rejected_email"
check "provider proxy: the transcript says so" has "$(result 0 transcript)" "SOCKS5 CONNECT 11.22.5.10:25 via proxy"
: > "$work/smtp.log"

# 3. Username/password (percent-encoded in the URL), from the environment.
BOUNCECHECK_PROXY="socks5://alice:$password_url@11.22.5.1:1081" verify a@socks-lab.net
check "auth: deliverable with the right password (BOUNCECHECK_PROXY)" \
    is "$(result 0 status_reason)" "deliverable accepted_email"
t=$(result 0 transcript)
check "auth: transcript shows the RFC 1929 step" has "$t" "SOCKS5 username/password authentication"
check "auth: the password never appears in the output" lacks "$(cat "$work/last.json" "$work/last.err")" "$password"
check "auth: the server sees the proxy's address" is "$(peers "$work/smtp.log")" 11.22.5.2
: > "$work/smtp.log"

# 4. A wrong password: could not connect, never a verdict about the mailbox.
printf 'proxy = socks5://alice:wrong@11.22.5.1:1081\n' > "$work/wrong.conf"
verify --config "$work/wrong.conf" a@socks-lab.net nobody@socks-lab.net
check "wrong password: exit 0" is "$rc" 0
check "wrong password: a@ is unknown/no_connect" is "$(result 0 status_reason)" "unknown no_connect"
check "wrong password: nobody@ is unknown/no_connect, not undeliverable" \
    is "$(result 1 status_reason)" "unknown no_connect"
check "wrong password: the transcript names the proxy and the failure" \
    has "$(result 0 transcript)" "SOCKS5 proxy 11.22.5.1:1081: authentication failed"
check "wrong password: no session reached the SMTP server" is "$(sessions "$work/smtp.log")" 0

# 5. No credentials for a proxy that wants them.
verify --proxy socks5://11.22.5.1:1081 a@socks-lab.net
check "no credentials: unknown/no_connect" is "$(result 0 status_reason)" "unknown no_connect"
check "no credentials: the transcript says the proxy requires authentication" \
    has "$(result 0 transcript)" "SOCKS5 proxy 11.22.5.1:1081: requires authentication"

# 6. Nothing listening at the proxy's address.
verify --proxy socks5://11.22.5.1:1099 a@socks-lab.net
check "proxy down: unknown/no_connect" is "$(result 0 status_reason)" "unknown no_connect"
check "proxy down: 'SOCKS5 proxy 11.22.5.1:1099: connection refused'" \
    has "$(result 0 transcript)" "SOCKS5 proxy 11.22.5.1:1099: connection refused"

# 7. The proxy cannot reach the MX: its REP code, and still no verdict on the mailbox.
verify --proxy socks5://11.22.5.1:1080 a@refused.socks-lab.net
check "REP: unknown/no_connect when the proxy cannot reach the MX" \
    is "$(result 0 status_reason)" "unknown no_connect"
check "REP: the transcript carries the proxy's reply code" \
    has "$(result 0 transcript)" "SOCKS5 proxy 11.22.5.1:1080: refused the CONNECT: connection refused (REP 5)"

# 8. A private MX stays refused through the proxy unless --allow-private.
verify --proxy socks5://11.22.5.1:1080 a@private.socks-lab.net
check "private MX: unsafe_target even through the proxy" is "$(result 0 status_reason)" "unknown unsafe_target"
check "private MX: no session reached the private server" is "$(sessions "$work/smtp-private.log")" 0
verify --proxy socks5://11.22.5.1:1080 --allow-private a@private.socks-lab.net
check "private MX: deliverable with --allow-private" is "$(result 0 status_reason)" "deliverable accepted_email"
check "private MX: reached through the proxy" is "$(peers "$work/smtp-private.log")" 11.22.5.2

# 9. A proxy that never answers: the connect timeout covers the handshake.
verify --proxy socks5://11.22.5.3:1080 --connect-timeout 2 a@socks-lab.net
check "silent proxy: unknown/timeout" is "$(result 0 status_reason)" "unknown timeout"
check "silent proxy: the transcript says where it timed out" \
    has "$(result 0 transcript)" "SOCKS5 proxy 11.22.5.3:1080: timed out during the handshake"
# A bound, not a speed: 2 s of connect timeout, well under the 20 s deadline.
check "silent proxy: over after the connect timeout, not the deadline ($secs s)" test "$secs" -lt 12

# 10. STARTTLS inside the tunnel, SNI the MX host.
verify --proxy socks5://11.22.5.1:1080 a@tls.socks-lab.net
check "TLS: deliverable" is "$(result 0 status_reason)" "deliverable accepted_email"
check "TLS: the session ran under TLS" is "$(result 0 tls)" true
check "TLS: SNI is the MX host" has "$(result 0 transcript)" "starting TLS handshake (SNI mx-tls.socks-lab.net)"
check "TLS: the server did TLS with the proxy's address" \
    is "$(grep -c '^[0-9]* TLS$' "$work/smtp-tls.log") $(peers "$work/smtp-tls.log")" "1 11.22.5.2"

check "all $nverify verify runs exited 0 with nothing on stderr" is "${#unclean[@]}" 0
for u in "${unclean[@]}"; do echo "# $u"; done

# 11. Bad URLs are usage errors (exit 2) in every command that takes the setting.
for cmd in verify serve worker; do
    "$bin" "$cmd" --proxy socks5h://11.22.5.1:1080 a@socks-lab.net > /dev/null 2> "$work/last.err"
    rc=$?
    check "$cmd --proxy socks5h://...: exit 2" is "$rc" 2
done
check "the socks5h message says why" has "$(cat "$work/last.err")" "socks5h:// (names resolved by the proxy) is not supported"
"$bin" verify --proxy 'socks5://alice:hunter2@11.22.5.1' a@socks-lab.net > /dev/null 2> "$work/last.err"
rc=$?
check "a URL without a port: exit 2, without quoting the password" \
    is "$rc $(grep -c hunter2 "$work/last.err")" "2 0"

echo "1..$n"
[ "$failed" -eq 0 ]
