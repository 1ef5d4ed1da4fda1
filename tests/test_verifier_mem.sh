#!/bin/bash
# test_verifier_mem.sh - runs tests/test_verifier_mem (argument 1) against a
# real NSD on 127.0.0.1 (tests/nsd_local.sh) serving the root zone (every
# other name NXDOMAIN, the resolver check passes) and bcmem.net, whose
# all.bcmem.net has its MX on 127.0.0.1, where a scripted SMTP server
# (tests/scripted_smtp.py, mode normal) accepts every recipient; and
# h0..h9299.bcmem.net, each with its own MX address where nothing listens.
# Prints TAP.
set -u

exe=${1:?usage: test_verifier_mem.sh path/to/test_verifier_mem}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/nsd_local.sh
. "$here/nsd_local.sh"
nsd_local_begin verifier_mem
work=$NSD_LOCAL_WORK
smtp_pid=""
# shellcheck disable=SC2317 # called by nsd_local.sh's EXIT trap
nsd_local_on_exit() {
    [ -z "$smtp_pid" ] || { kill "$smtp_pid" 2>/dev/null; wait "$smtp_pid" 2>/dev/null; }
}

read -r port smtp_port < <(nsd_local_ports 2)

cat > "$work/bcmem.net.zone" <<'EOF2'
$ORIGIN bcmem.net.
$TTL 300
@             IN SOA  ns.bcmem.net. hostmaster.bcmem.net. 1 3600 600 86400 60
@             IN NS   ns
ns            IN A    127.0.0.1
all           IN MX   10 mx
mx            IN A    127.0.0.1
EOF2
# hN.bcmem.net: one MX host each, at its own loopback address where nothing
# listens (127.1.X.Y), for the host records' bound.
hosts=9300
for ((i = 0; i < hosts; i++)); do
    printf 'h%d IN MX 10 m%d\nm%d IN A 127.1.%d.%d\n' "$i" "$i" "$i" $((i / 250)) $((i % 250 + 1))
done >> "$work/bcmem.net.zone"
nsd_local_start "$work" "$port" . bcmem.net || exit 1

mkfifo "$work/smtp.ready"
"$NSD_LOCAL_PY" "$here/scripted_smtp.py" --listen "127.0.0.1:$smtp_port" --mode normal \
    --log "$work/smtp.log" > "$work/smtp.ready" 2> "$work/smtp.err" &
smtp_pid=$!
if ! timeout 10 head -n1 "$work/smtp.ready" | grep -q ready; then
    echo "Bail out! scripted SMTP server did not start: $(cat "$work/smtp.err")"
    exit 1
fi

BC_TEST_HOSTS=$hosts BC_TEST_DNS="127.0.0.1:$port" BC_TEST_SMTP_PORT=$smtp_port BC_TEST_SMTP_LOG="$work/smtp.log" "$exe"
rc=$?
if [ $rc -ne 0 ]; then
    nsd_local_show_log
fi
exit $rc
