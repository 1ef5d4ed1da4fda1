#!/bin/bash
# test_smtp_test.sh - `bouncecheck smtp-test` against small SMTP servers
# (tests/smtp_test_server.py) on 127.0.0.1: one with STARTTLS and a
# self-signed certificate, one without TLS offering AUTH in the clear, an
# open relay, one that closes after its banner, one that never greets, one
# that refuses EHLO, a banner name that is not the reverse DNS name, a closed
# port, the private-address guard and, as root, the default port sweep with
# implicit TLS on 465. Checks the JSON fields, exit codes and that no server
# ever saw DATA. Usage: test_smtp_test.sh BOUNCECHECK_EXE
set -u
bc=${1:?usage: test_smtp_test.sh BOUNCECHECK_EXE}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
server="$here/smtp_test_server.py"
work=$(mktemp -d)
pids=()
world_dir=
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "$world_dir" ]; then
        bash "$here/world/down.sh" "$world_dir/w" >/dev/null 2>&1
        rm -rf "$world_dir"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

bail() { echo "1..0 # SKIP $*"; exit 0; }
command -v openssl >/dev/null || bail "openssl not installed"
command -v jq >/dev/null || bail "jq not installed"
[ -x /usr/bin/python3 ] || bail "/usr/bin/python3 not installed"

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else nok "$d"; fi
}
# jqt FILE FILTER: the jq filter must print exactly "true".
jqt() { [ "$(jq -r "$2" "$1" 2>/dev/null)" = "true" ]; }

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.example -days 30 \
    -addext "subjectAltName=DNS:mx.example,DNS:localhost" \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || { echo "Bail out! openssl req failed"; exit 1; }

free_ports() {
    /usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# start NAME IP PORT MODE [ARGS...]: starts a server, waits until it listens.
start() {
    local name=$1 ip=$2 port=$3 mode=$4
    shift 4
    /usr/bin/python3 "$server" --listen "$ip:$port" --mode "$mode" --log "$work/$name.log" "$@" \
        > "$work/$name.out" 2> "$work/$name.err" &
    pids+=($!)
    for _ in $(seq 100); do
        grep -q ready "$work/$name.out" 2>/dev/null && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

read -r p_tls p_plain p_relay p_close p_slow p_helo p_mismatch p_closed <<< "$(free_ports 8)"
tlsargs=(--cert "$work/cert.pem" --key "$work/key.pem")
for spec in "tls $p_tls starttls" "plain $p_plain plain" "relay $p_relay relay" "close $p_close closebanner" \
            "slow $p_slow slow" "helo $p_helo helo_only"; do
    read -r name port mode <<< "$spec"
    extra=()
    [ "$mode" = starttls ] && extra=("${tlsargs[@]}")
    start "$name" 127.0.0.1 "$port" "$mode" "${extra[@]}" || { echo "Bail out! server $name did not start: $(cat "$work/$name.err")"; exit 1; }
done
start mismatch 127.0.0.1 "$p_mismatch" plain --banner-name mx.example || { echo "Bail out! server mismatch did not start"; exit 1; }

# run NAME ARGS...: runs smtp-test, output in $work/NAME.json, exit code in $work/NAME.rc.
run() {
    local name=$1
    shift
    "$bc" smtp-test "$@" > "$work/$name.json" 2> "$work/$name.stderr"
    echo $? > "$work/$name.rc"
}
rc_is() { [ "$(cat "$work/$1.rc")" = "$2" ]; }

# ---- STARTTLS server -------------------------------------------------------------
run tls --json --allow-private --port "$p_tls" --helo client.bouncecheck.test localhost
j=$work/tls.json
check "starttls: exit 0" rc_is tls 0
check "starttls: connected, connect_ms, banner 220 and its host" jqt "$j" \
    '.host == "localhost" and .address == "127.0.0.1" and (.ports|length) == 1 and .ports[0].connected and (.ports[0].connect_ms >= 0) and .ports[0].banner.code == 220 and .ports[0].banner_host == "localhost"'
check "starttls: EHLO extensions parsed" jqt "$j" \
    '.ports[0].ehlo | .size == 35882577 and .pipelining and .starttls and .smtputf8 and .["8bitmime"] and .chunking and .enhancedstatuscodes and (.extensions|index("DSN")) != null and (.other|index("X-TEST-EXT a b")) != null and .auth == []'
check "starttls: TLS version, cipher, certificate" jqt "$j" \
    '.ports[0].tls | .mode == "starttls" and (.version == "TLSv1.3" or .version == "TLSv1.2") and (.cipher|length) > 0 and .subject == "CN=mx.example" and .issuer == "CN=mx.example" and .sans == ["mx.example","localhost"] and (.not_after|test("^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T")) and .days_left >= 28 and .days_left <= 30'
check "starttls: self-signed is not verified, the name matches" jqt "$j" \
    '.ports[0].tls | .verified == false and (.verify_error|test("self")) and .name_matches == true'
check "starttls: EHLO after TLS lists AUTH PLAIN LOGIN" jqt "$j" \
    '.ports[0].ehlo_after_tls.auth == ["PLAIN","LOGIN"] and .ports[0].ehlo_after_tls.starttls == false'
check "starttls: relaying refused, open_relay false" jqt "$j" \
    '.ports[0].open_relay == false and (.ports[0].relay_reply|startswith("554 5.7.1"))'
check "starttls: findings: unverified certificate, no open relay, no AUTH in clear" jqt "$j" \
    '([.findings[].code]|index("smtp_cert_unverified")) != null and ([.findings[].code]|index("smtp_open_relay")) == null and ([.findings[].code]|index("smtp_auth_plaintext")) == null and ([.findings[].code]|index("smtp_cert_name_mismatch")) == null'
check "starttls: the relay test stops at RCPT, then RSET and QUIT; EHLO name used" \
    bash -c "grep -qx 'C EHLO client.bouncecheck.test' '$work/tls.log' && grep -qx 'C MAIL FROM:<bouncecheck-relay-test@example.org>' '$work/tls.log' && grep -qx 'C RCPT TO:<bouncecheck-relay-test@example.net>' '$work/tls.log' && grep -qx 'C RSET' '$work/tls.log' && grep -qx 'C QUIT' '$work/tls.log'"
# The certificate names localhost, not 127.0.0.1.
run tlsip --json --allow-private --port "$p_tls" 127.0.0.1
check "starttls by IP: the certificate does not name the IP" jqt "$work/tlsip.json" \
    '.ports[0].tls.name_matches == false and ([.findings[].code]|index("smtp_cert_name_mismatch")) != null'

# ---- plain server -----------------------------------------------------------------
run plain --json --allow-private --port "$p_plain" localhost
j=$work/plain.json
check "plain: exit 0" rc_is plain 0
check "plain: tls.mode null, AUTH mechanisms, SIZE without limit" jqt "$j" \
    '.ports[0].tls.mode == null and .ports[0].ehlo.auth == ["LOGIN","PLAIN"] and .ports[0].ehlo.size == 0 and .ports[0].ehlo.starttls == false and .ports[0].ehlo_after_tls == null'
check "plain: findings smtp_no_starttls and smtp_auth_plaintext" jqt "$j" \
    '([.findings[].code]|index("smtp_no_starttls")) != null and ([.findings[].code]|index("smtp_auth_plaintext")) != null and .ports[0].open_relay == false'
check "plain: no STARTTLS sent" bash -c "! grep -q 'C STARTTLS' '$work/plain.log'"

# ---- open relay ---------------------------------------------------------------------
run relay --json --allow-private --port "$p_relay" localhost
j=$work/relay.json
check "relay: exit 0 (the test ran)" rc_is relay 0
check "relay: open_relay true and a fail finding" jqt "$j" \
    '.ports[0].open_relay == true and ([.findings[] | select(.code == "smtp_open_relay" and .severity == "fail")] | length) == 1'
check "relay: RSET after the accepted RCPT, never DATA" \
    bash -c "grep -qx 'C RSET' '$work/relay.log' && ! grep -q 'C DATA' '$work/relay.log'"
run relaytext --allow-private --port "$p_relay" localhost
check "relay: the readable report says YES and names the finding" \
    bash -c "grep -q 'open relay: *YES' '$work/relaytext.json' && grep -q 'smtp_open_relay' '$work/relaytext.json' && grep -q 'Port $p_relay: connected in' '$work/relaytext.json'"
check "relay: the readable report gives the fix under the finding" \
    bash -c "grep -A1 'smtp_open_relay' '$work/relaytext.json' | grep -q '^      fix: .'"
check "relay: the JSON finding carries its fix" jqt "$j" \
    '[.findings[] | select(.code == "smtp_open_relay") | .fix | strings | length > 0] == [true]'

# ---- closes after the banner ------------------------------------------------------------
run close --json --allow-private --port "$p_close" localhost
check "closebanner: exit 0, banner kept, error at EHLO" jqt "$work/close.json" \
    '.ports[0].connected and .ports[0].banner.code == 220 and (.ports[0].error|test("EHLO")) and .ports[0].open_relay == null and .ports[0].ehlo == null'
check "closebanner: exit code 0" rc_is close 0

# ---- never greets: timeout ---------------------------------------------------------------
t0=$(date +%s)
run slow --json --allow-private --port "$p_slow" --timeout 1 localhost
t1=$(date +%s)
check "slow: the banner wait times out (--timeout 1)" jqt "$work/slow.json" \
    '.ports[0].connected and .ports[0].banner == null and (.ports[0].error|test("banner: no reply within 1000 ms")) and ([.findings[].code]|index("smtp_no_banner")) != null'
check "slow: done within 5 s" test $((t1 - t0)) -le 5

# ---- EHLO refused ------------------------------------------------------------------------
run helo --json --allow-private --port "$p_helo" localhost
check "helo_only: HELO fallback reported" jqt "$work/helo.json" \
    '.ports[0].ehlo.helo_fallback == true and .ports[0].ehlo.extensions == [] and ([.findings[].code]|index("smtp_ehlo_refused")) != null and .ports[0].open_relay == false'

# ---- banner name is not the reverse DNS name ----------------------------------------------
if [ "$(getent hosts 127.0.0.1 | awk '{print $2}')" = localhost ]; then
    run mismatch --json --allow-private --port "$p_mismatch" localhost
    check "banner/PTR: mx.example differs from localhost" jqt "$work/mismatch.json" \
        '.ports[0].ptr == "localhost" and .ports[0].banner_host == "mx.example" and .ports[0].ptr_matches_banner == false and ([.findings[].code]|index("smtp_banner_ptr_mismatch")) != null'
    check "banner/PTR: localhost matches localhost" jqt "$work/plain.json" \
        '.ports[0].ptr_matches_banner == true and ([.findings[].code]|index("smtp_banner_ptr_mismatch")) == null'
else
    ok "banner/PTR # SKIP 127.0.0.1 does not resolve back to localhost here"
    ok "banner/PTR match # SKIP 127.0.0.1 does not resolve back to localhost here"
fi

# ---- closed port ------------------------------------------------------------------------
run closed --json --allow-private --port "$p_closed" localhost
check "closed port: exit 1" rc_is closed 1
check "closed port: connected false, error, smtp_unreachable" jqt "$work/closed.json" \
    '.ports[0].connected == false and (.ports[0].error|test("refused")) and ([.findings[].code]|index("smtp_unreachable")) != null'

# ---- the private-address guard ---------------------------------------------------------------
before=$(grep -c CONNECT "$work/plain.log")
run private --json --port "$p_plain" 127.0.0.1
check "private: refused without --allow-private (exit 1, says why)" \
    bash -c "[ \"\$(cat '$work/private.rc')\" = 1 ] && grep -q 'loopback' '$work/private.stderr' && grep -q -- '--allow-private' '$work/private.stderr' && [ ! -s '$work/private.json' ]"
run private6 --port "$p_plain" localhost
check "private: no connection was made" test "$(grep -c CONNECT "$work/plain.log")" = "$before"

# ---- usage -----------------------------------------------------------------------------------
run usage1
check "usage: no host -> exit 2" rc_is usage1 2
run usage2 --port 0 localhost
check "usage: --port 0 -> exit 2" rc_is usage2 2
run usage3 --timeout abc localhost
check "usage: --timeout abc -> exit 2" rc_is usage3 2
run usage4 --helo 'bad name' --allow-private --port "$p_plain" localhost
check "usage: an EHLO name with a space -> exit 2" rc_is usage4 2

# ---- default port sweep with implicit TLS on 465 (binds low ports: root only) -----------------
sweep_ip=127.77.$((RANDOM % 200 + 20)).$((RANDOM % 200 + 20))
if [ "$(id -u)" = 0 ] && start s25 "$sweep_ip" 25 starttls "${tlsargs[@]}" && start s587 "$sweep_ip" 587 plain \
    && start s465 "$sweep_ip" 465 implicit "${tlsargs[@]}"; then
    run sweep --json --allow-private --timeout 5 "$sweep_ip"
    j=$work/sweep.json
    check "sweep: ports 25, 587, 465, 2525 in turn" jqt "$j" '[.ports[].port] == [25,587,465,2525]'
    check "sweep: 25 STARTTLS, 587 plain, 2525 closed" jqt "$j" \
        '.ports[0].tls.mode == "starttls" and .ports[1].tls.mode == null and .ports[1].connected and .ports[3].connected == false'
    check "sweep: implicit TLS on 465, banner read under TLS" jqt "$j" \
        '.ports[2].tls.mode == "implicit" and (.ports[2].tls.version|startswith("TLSv1.")) and .ports[2].banner.code == 220 and .ports[2].ehlo.starttls == false and .ports[2].ehlo.auth == ["PLAIN","LOGIN"] and .ports[2].open_relay == false'
    check "sweep: exit 0, AUTH under implicit TLS is no finding" bash -c \
        "[ \"\$(cat '$work/sweep.rc')\" = 0 ] && [ \"\$(jq '[.findings[] | select(.code == \"smtp_auth_plaintext\" and (.message|test(\"port 465\")))] | length' '$j')\" = 0 ]"
else
    for d in "sweep ports" "sweep 25/587/2525" "sweep implicit TLS" "sweep exit"; do
        ok "$d # SKIP needs root to bind ports 25, 587 and 465 on a loopback address"
    done
fi

# ---- Postfix in the integration world (tests/world/up.sh; root, optional) ---------------------
world_skip=
if [ "$(id -u)" != 0 ]; then
    world_skip="needs root for the world's network namespace"
elif [ -n "${BC_SKIP_WORLD:-}" ]; then
    world_skip="BC_SKIP_WORLD is set"
elif ! command -v postfix >/dev/null || ! command -v nsd >/dev/null; then
    world_skip="postfix or nsd not installed"
else
    world_dir=$(mktemp -d /tmp/bc-smtptest-world.XXXXXX)
    chmod 755 "$world_dir" # the postfix user must reach its queue inside
    if timeout 120 bash "$here/world/up.sh" "$world_dir/w" 2> "$work/world.err" && . "$world_dir/w/world.env"; then
        ip netns exec "$NS" "$bc" smtp-test --json --port 25 --timeout 10 mx.bclab-ok.net > "$work/world.json" \
            2> "$work/world.stderr"
        echo $? > "$work/world.rc"
        j=$work/world.json
        check "world: Postfix on $MX_OK:25 connects, banner names mx.bclab-ok.net" jqt "$j" \
            ".address == \"$MX_OK\" and .ports[0].connected and .ports[0].banner.code == 220 and .ports[0].banner_host == \"mx.bclab-ok.net\""
        check "world: Postfix EHLO extensions" jqt "$j" \
            '.ports[0].ehlo | .pipelining and .starttls and .chunking and .smtputf8 and .["8bitmime"] and .enhancedstatuscodes and .size > 0'
        check "world: STARTTLS with the world's certificate for mx.bclab-ok.net" jqt "$j" \
            '.ports[0].tls.mode == "starttls" and .ports[0].tls.subject == "CN=mx.bclab-ok.net" and .ports[0].tls.name_matches == true and .ports[0].tls.verified == false and .ports[0].ehlo_after_tls.starttls == false'
        check "world: Postfix refuses to relay (454 4.7.1 counts as a refusal)" jqt "$j" \
            '.ports[0].open_relay == false and (.ports[0].relay_reply|test("^4[0-9][0-9] 4\\.7\\.1|^5"))'
        check "world: exit 0" rc_is world 0
        # `bouncecheck dns` tests STARTTLS on port 25 of each MX through the same client.
        ip netns exec "$NS" "$bc" dns --json --timeout 10 bclab-ok.net > "$work/dnsw.json" 2> "$work/dnsw.stderr"
        check "world: dns bclab-ok.net: the MX's STARTTLS (Postfix) is tested and its self-signed certificate flagged" \
            jqt "$work/dnsw.json" \
            '(.mx.hosts[0].smtp.tls.mode == "starttls") and (.mx.hosts[0].smtp.tls.subject == "CN=mx.bclab-ok.net") and ([.mx.findings[].code]|index("mx_tls_untrusted")) != null and ([.mx.findings[].code]|index("mx_no_starttls")) == null'
    else
        world_skip="tests/world/up.sh failed: $(tail -n1 "$work/world.err" 2>/dev/null)"
    fi
fi
if [ -n "$world_skip" ]; then
    for d in "world: banner" "world: EHLO" "world: STARTTLS" "world: relay" "world: exit" "world: dns"; do
        ok "$d # SKIP $world_skip"
    done
fi

# Whatever the cases did, no server may ever have seen DATA.
check "no server ever saw DATA" bash -c "! grep -h 'C DATA' '$work'/*.log"
echo "1..$n"
exit 0
