# wait_for.sh - sourced by the scripts that start servers (tests/world/up.sh,
# bench/verify/run.sh).

# wait_for FILE PATTERN SECONDS - true once PATTERN appears in FILE.
wait_for() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
