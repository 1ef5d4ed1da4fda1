#!/bin/bash
# test_probe.sh - starts one scripted SMTP server (tests/scripted_smtp.py) per
# behaviour on 127.0.0.1 free high ports, then runs the TAP program given as
# $1 (tests/test_probe) with the ports in BC_PORT_<NAME> and the servers' logs
# in BC_PROBE_LOGDIR. The program's TAP output is the test's output.
set -u
prog=${1:?usage: test_probe.sh TEST_PROBE_EXE}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
server="$here/scripted_smtp.py"
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

bail() { echo "1..0 # SKIP $*"; exit 0; }
command -v openssl >/dev/null || bail "openssl not installed"
[ -x /usr/bin/python3 ] || bail "/usr/bin/python3 not installed"

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.example -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || { echo "Bail out! openssl req failed"; exit 1; }

# N free ports from the kernel (closed again right away; the servers bind them next).
free_ports() {
    /usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# name mode extra-args...
servers=(
    "normal|normal|--reply nobody@example.test=550 5.1.1 no such user|--reply busy@example.test=421 4.3.2 closing"
    "nopipelining|nopipelining|--reply nobody@example.test=550 5.1.1 no such user|--reply busy@example.test=421 4.3.2 closing|--reply mail:blocked@bouncecheck.test=550 5.7.1 sender blocked"
    "noutf8|noutf8"
    "tls|normal|--cert $work/cert.pem|--key $work/key.pem"
    "badtls|badtls"
    "tarpit|tarpit"
    "greet421|greet421"
    "slowgreet|slowgreet|--delay 2"
    "endless|endless"
    "longline|longline"
    "garbage|garbage"
    "resetrcpt|resetrcpt"
    "helo_only|helo_only"
)
read -r -a ports <<< "$(free_ports $(( ${#servers[@]} + 1 )))"
i=0
for spec in "${servers[@]}"; do
    IFS='|' read -r -a f <<< "$spec"
    name=${f[0]} mode=${f[1]}
    args=()
    for a in "${f[@]:2}"; do
        # "--opt value" pairs, the value may hold spaces
        args+=("${a%% *}" "${a#* }")
    done
    port=${ports[$i]}
    mkfifo "$work/$name.ready"
    "$server" --listen "127.0.0.1:$port" --mode "$mode" --log "$work/$name.log" "${args[@]}" \
        > "$work/$name.ready" 2> "$work/$name.err" &
    pids+=($!)
    if ! timeout 10 head -n1 "$work/$name.ready" | grep -q ready; then
        echo "Bail out! scripted server $name did not start: $(cat "$work/$name.err")"
        exit 1
    fi
    export "BC_PORT_${name^^}=$port"
    i=$((i + 1))
done
export BC_PORT_REFUSED=${ports[$i]} # nothing listens there
export BC_PROBE_LOGDIR="$work"

"$prog"
rc=$?
# Whatever the cases did, no server may ever have seen DATA.
if grep -l " C DATA" "$work"/*.log >/dev/null 2>&1; then
    echo "# DATA was sent to a scripted server"
    rc=1
fi
exit $rc
