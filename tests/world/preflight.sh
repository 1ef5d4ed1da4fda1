# preflight.sh - sourced by the world tests. `world_preflight TOOL...` prints
# a TAP skip plan and exits 0 unless this machine can host the test world
# (root, the given tools, network namespaces).
# shellcheck shell=bash
world_preflight() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "1..0 # SKIP needs root for a network namespace"
        exit 0
    fi
    local t
    for t in "$@"; do
        if ! command -v "$t" >/dev/null 2>&1; then
            echo "1..0 # SKIP $t is not installed (scripts/deps.sh test)"
            exit 0
        fi
    done
    if ! ip netns add "bcprobe-$$" 2>/dev/null; then
        echo "1..0 # SKIP cannot create a network namespace here"
        exit 0
    fi
    ip netns del "bcprobe-$$"
}

# world_up - brings the world up in $state as TAP test 1 (on failure: its
# log, a plan and exit 1), reads world.env, goes into $state with an empty
# lists directory (the built-in lists) as BOUNCECHECK_DATA_DIR, and exports
# BC_ENGINE_ARGS: the engine options the server and the CLI share there.
world_up() {
    if ! "$world/up.sh" "$state" > "$state/up.log" 2>&1; then
        echo "not ok 1 - the test world comes up"
        head -n 20 "$state/up.log" | sed 's/^/# /'
        echo "1..1"
        exit 1
    fi
    echo "ok 1 - the test world comes up"
    # shellcheck disable=SC1091
    . "$state/world.env"
    cd "$state" || exit 1
    mkdir -p lists
    export BOUNCECHECK_DATA_DIR="$state/lists"
    export BC_ENGINE_ARGS="--allow-private --dns $DNS --helo probe.bclab-client.net --from check@bclab-client.net
--mx-connections 4 --rcpts-per-connection 10 --domain-rate 0 --timeout 60"
}

# world_state NAME - makes the test's state directory ($state, under /tmp)
# and installs the exit trap that kills a bouncecheck still running in the
# background ($job, when set), brings the world down and removes $state
# (kept, with its path printed, when BC_WORLD_KEEP=1).
world_state() {
    state=$(mktemp -d "/tmp/$1.XXXXXX")
    job=""
    trap world_cleanup EXIT
    trap 'exit 1' INT TERM
}
world_cleanup() {
    [ -n "${job:-}" ] && kill -KILL "$job" 2>/dev/null
    "$world/down.sh" "$state"
    if [ "${BC_WORLD_KEEP:-}" = 1 ]; then
        echo "# world state kept in $state"
    else
        rm -rf "$state"
    fi
}
