# shellcheck shell=bash
# netns_local.sh - sourced by the shell tests that run in a network namespace
# of their own (tests/test_doctor.sh, tests/test_resolver_check.sh): makes
# it, runs the test script again inside it, and removes it afterwards, so
# that every address the test uses (11.22.x.x and the like) exists only
# there and nothing it sends can leave the machine.

# netns_local_enter PREFIX VAR SCRIPT ARG... - when the variable VAR is set,
# the script already runs inside: returns at once. Otherwise skips the
# whole test (a TAP plan, exit 0) when not root, without ip, or when no
# namespace can be made; makes the namespace PREFIX-PID with lo up; calls
# the script's own function netns_local_setup NS (addresses, routes) when
# it defines one; writes /etc/netns/NS/resolv.conf naming
# $NETNS_LOCAL_RESOLVER (default 127.0.0.1: the test's own DNS server, so
# that nothing asks the host's resolver); runs `bash SCRIPT ARG...` inside
# with VAR=NS and exits with its status. On exit, whatever still runs in
# the namespace (only processes of the test live there) is killed and the
# namespace removed.
netns_local_enter() {
    local prefix=$1 var=$2
    shift 2
    [ -z "${!var:-}" ] || return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "1..0 # SKIP needs root for a network namespace"
        exit 0
    fi
    if ! command -v ip > /dev/null 2>&1; then
        echo "1..0 # SKIP needs ip (iproute2)"
        exit 0
    fi
    NETNS_LOCAL_NS="$prefix-$$"
    if ! ip netns add "$NETNS_LOCAL_NS" 2> /dev/null; then
        echo "1..0 # SKIP cannot create a network namespace here"
        exit 0
    fi
    trap netns_local_exit EXIT
    trap 'exit 1' INT TERM
    ip -n "$NETNS_LOCAL_NS" link set lo up || { echo "1..1"; echo "not ok 1 - lo up in $NETNS_LOCAL_NS"; exit 1; }
    if declare -F netns_local_setup > /dev/null; then
        netns_local_setup "$NETNS_LOCAL_NS" || { echo "1..1"; echo "not ok 1 - the namespace is set up"; exit 1; }
    fi
    mkdir -p "/etc/netns/$NETNS_LOCAL_NS"
    echo "nameserver ${NETNS_LOCAL_RESOLVER:-127.0.0.1}" > "/etc/netns/$NETNS_LOCAL_NS/resolv.conf"
    env "$var=$NETNS_LOCAL_NS" ip netns exec "$NETNS_LOCAL_NS" bash "$@"
    exit $?
}

# netns_local_exit - the EXIT trap netns_local_enter sets.
# shellcheck disable=SC2317 # called by the EXIT trap
netns_local_exit() {
    local p
    for p in $(ip netns pids "$NETNS_LOCAL_NS" 2> /dev/null); do kill -KILL "$p" 2> /dev/null; done
    ip netns del "$NETNS_LOCAL_NS" 2> /dev/null
    rm -rf "/etc/netns/$NETNS_LOCAL_NS"
}
