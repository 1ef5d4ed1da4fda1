# shellcheck shell=bash
# nsd_local.sh - sourced by the shell tests that need a real authoritative
# DNS server (tests/test_dns.sh, tests/test_resolver.sh, tests/spf/test_cli.sh):
# finds NSD, picks free ports, starts one NSD on 127.0.0.1 serving zone files
# the test wrote, and stops it again.
#
# A script calls nsd_local_begin first (skip without NSD, a work directory
# removed on exit), writes its zone files into that directory, then
# nsd_local_start; NSD's own files (nsd.conf, nsd.out, nsd.log, zone.list,
# xfrd.state, nsd.pid) go there too. Set here: NSD_LOCAL_BIN (nsd),
# NSD_LOCAL_PY (python3), NSD_LOCAL_WORK (the work directory), NSD_LOCAL_DIR
# (the running NSD's directory) and NSD_LOCAL_PGID (its process group, empty
# while none runs). Call these functions in the script's own shell, not in
# $(...), so that the variables stay set.

NSD_LOCAL_BIN=$(command -v nsd || echo /usr/sbin/nsd)
NSD_LOCAL_PY=/usr/bin/python3
[ -x "$NSD_LOCAL_PY" ] || NSD_LOCAL_PY=python3
NSD_LOCAL_WORK=""
NSD_LOCAL_DIR=""
NSD_LOCAL_PGID=""

# nsd_local_begin NAME - when NSD is not installed, prints a TAP plan that
# skips the whole script and exits 0. Otherwise makes the work directory
# /tmp/bc-test-NAME.XXXXXX (in NSD_LOCAL_WORK) and sets the script's traps:
# on exit, the script's own function nsd_local_on_exit if it defines one,
# then nsd_local_stop, then the directory is removed; INT and TERM exit 1.
nsd_local_begin() {
    if [ ! -x "$NSD_LOCAL_BIN" ]; then
        echo "1..0 # SKIP nsd is not installed (Debian package nsd)"
        exit 0
    fi
    NSD_LOCAL_WORK=$(mktemp -d "/tmp/bc-test-$1.XXXXXX") || exit 1
    trap nsd_local_exit EXIT
    trap 'exit 1' INT TERM
}

# nsd_local_exit - the EXIT trap nsd_local_begin sets.
nsd_local_exit() {
    if declare -F nsd_local_on_exit > /dev/null; then
        nsd_local_on_exit
    fi
    nsd_local_stop
    [ -z "$NSD_LOCAL_WORK" ] || rm -rf "$NSD_LOCAL_WORK"
}

# nsd_local_ports N - prints N distinct ports on one line, each of them free
# on 127.0.0.1 for both TCP and UDP at the time of asking.
nsd_local_ports() {
    "$NSD_LOCAL_PY" - "$1" <<'EOF'
import socket
import sys

want = int(sys.argv[1])
held = []  # kept bound until the end, so no port is handed out twice
ports = []
while len(ports) < want:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close()
        u.close()
        continue
    held += [t, u]
    ports.append(p)
for s in held:
    s.close()
print(*ports)
EOF
}

# nsd_local_fail WHAT - prints a TAP run of one failed test WHAT followed by
# NSD's log and output as comments; returns 1.
nsd_local_fail() {
    echo "1..1"
    echo "not ok 1 - $1"
    sed 's/^/# /' "$NSD_LOCAL_DIR/nsd.log" "$NSD_LOCAL_DIR/nsd.out" 2>/dev/null
    return 1
}

# nsd_local_zfile ZONE - the file name of ZONE: ZONE.zone, root.zone for ".".
nsd_local_zfile() { if [ "$1" = . ]; then echo root.zone; else echo "$1.zone"; fi; }

# nsd_local_start WORKDIR PORT ZONE... - writes WORKDIR/nsd.conf serving each
# ZONE from WORKDIR/ZONE.zone on 127.0.0.1:PORT (UDP and TCP), has
# nsd-checkconf check it, starts NSD in a process group of its own and waits
# up to 5 s for it to log that it started. On failure prints a failed TAP run
# (nsd_local_fail) and returns 1; the caller exits.
# The ZONE "." is the root, from WORKDIR/root.zone, written here (SOA and NS
# only) when the test did not: names outside the other zones then get
# NXDOMAIN with an SOA, as on the Internet, and ". NS" resolves, so that
# BounceCheck's resolver check (src/lib/dns/resolver_check.h) passes. Without
# it NSD answers REFUSED there, which tests of "could not tell" rely on.
# Response rate limiting is off: past NSD's default of 200 answers/s it
# drops answers, which a verifier must read as "could not tell".
nsd_local_start() {
    local dir=$1 port=$2 zone
    shift 2
    NSD_LOCAL_DIR=$dir
    # shellcheck disable=SC2016 # the zone file's own $ORIGIN and $TTL
    if [[ " $* " == *" . "* ]] && [ ! -f "$dir/root.zone" ]; then
        printf '%s\n' '$ORIGIN .' '$TTL 300' '@ IN SOA ns.nsd-local.test. hostmaster.nsd-local.test. 1 3600 600 86400 60' \
            '@ IN NS ns.nsd-local.test.' > "$dir/root.zone"
    fi
    for zone in "$@"; do
        [ -f "$dir/$(nsd_local_zfile "$zone")" ] ||
            { nsd_local_fail "zone file $dir/$(nsd_local_zfile "$zone") exists"; return 1; }
    done
    {
        cat <<EOF
server:
    ip-address: 127.0.0.1
    port: $port
    username: ""
    database: ""
    chroot: ""
    zonesdir: "$dir"
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    server-count: 1
    verbosity: 1
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
EOF
        for zone in "$@"; do
            printf 'zone:\n    name: %s\n    zonefile: %s\n' "$zone" "$(nsd_local_zfile "$zone")"
        done
    } > "$dir/nsd.conf"

    if ! "$(dirname "$NSD_LOCAL_BIN")/nsd-checkconf" "$dir/nsd.conf" > "$dir/nsd.out" 2>&1; then
        nsd_local_fail "nsd-checkconf accepts the generated nsd.conf"
        return 1
    fi

    # Not a process-group leader here (no job control), so setsid does not
    # fork: $! is NSD's pid and the id of a new group holding all its
    # processes.
    setsid "$NSD_LOCAL_BIN" -d -c "$dir/nsd.conf" > "$dir/nsd.out" 2>&1 &
    NSD_LOCAL_PGID=$!

    local _
    for _ in $(seq 1 50); do
        grep -q "nsd started" "$dir/nsd.log" 2>/dev/null && break
        kill -0 "$NSD_LOCAL_PGID" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q "nsd started" "$dir/nsd.log" 2>/dev/null; then
        nsd_local_fail "nsd started on 127.0.0.1:$port"
        return 1
    fi
    sleep 0.2
}

# nsd_local_stop - stops the NSD nsd_local_start started, if any: resumes its
# process group (a test may have paused it), asks it to end, and kills what
# is left after 2 s. Safe to call more than once.
nsd_local_stop() {
    [ -n "$NSD_LOCAL_PGID" ] || return 0
    local _
    kill -CONT -- "-$NSD_LOCAL_PGID" 2>/dev/null
    kill -TERM -- "-$NSD_LOCAL_PGID" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 -- "-$NSD_LOCAL_PGID" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL -- "-$NSD_LOCAL_PGID" 2>/dev/null || true
    NSD_LOCAL_PGID=""
}

# nsd_local_show_log - prints NSD's log as TAP comments, for after a failed
# test.
nsd_local_show_log() {
    echo "# NSD log:"
    sed 's/^/#   /' "$NSD_LOCAL_DIR/nsd.log"
}
