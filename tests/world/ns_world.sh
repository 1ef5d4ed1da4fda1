#!/bin/bash
# ns_world.sh - sourced by the test worlds that run their own NSD and servers
# in a network namespace (tests/replies/world.sh, tests/providers/world.sh).
#
# nsd_conf_write DIR ADDRESS - writes DIR/nsd.conf for an NSD listening on
# ADDRESS:53 with one zone per line "NAME FILE" of DIR/zones.list, its state,
# pid and log files in DIR, and checks it with nsd-checkconf. Prints the path
# of the nsd binary. Returns non-zero (with a message) when the check fails.
nsd_conf_write() {
    local dir=$1 addr=$2 z f nsd_bin
    {
        cat <<EOC
server:
    ip-address: $addr
    port: 53
    username: ""
    database: ""
    chroot: ""
    zonesdir: "$dir/zones"
    zonelistfile: "$dir/nsd.zonelist"
    xfrdfile: "$dir/nsd.xfrd"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
EOC
        while read -r z f; do
            printf 'zone:\n    name: "%s"\n    zonefile: %s\n' "$z" "$f"
        done < "$dir/zones.list"
    } > "$dir/nsd.conf"
    nsd_bin=$(command -v nsd || echo /usr/sbin/nsd)
    "$(dirname "$nsd_bin")/nsd-checkconf" "$dir/nsd.conf" >&2 ||
        { echo "ns_world.sh: nsd-checkconf rejects $dir/nsd.conf" >&2; return 1; }
    echo "$nsd_bin"
}

# ns_world_down NS PID... - stops the world's processes (TERM, then waits),
# kills whatever else still runs inside namespace NS (only the world's own
# processes live there), and removes NS and its /etc/netns directory. Every
# step may fail (a process already gone, a caller under set -e): none stops
# the others. NS may be empty (nothing was made).
ns_world_down() {
    local ns=$1 p
    shift
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "$@"; do wait "$p" 2>/dev/null || true; done
    if [ -n "$ns" ]; then
        for p in $(ip netns pids "$ns" 2>/dev/null || true); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    fi
    return 0
}
