#!/bin/bash
# test_world.sh BOUNCECHECK - end-to-end cases of `bouncecheck verify` against
# real servers: brings up the test world (tests/world/up.sh: NSD, Postfix,
# postgrey, a latency proxy and scripted SMTP servers in a fresh network
# namespace), runs every case of tests/integration/cases.tsv with
#   ip netns exec NS BOUNCECHECK verify --json --dns IP [args] EMAIL...
# checks each with check_case.py, and finally that no server ever saw DATA.
# Brings the world down on exit, whatever happened. Prints TAP.
# Environment: BC_WORLD_CASES=REGEX runs only the matching cases;
# BC_WORLD_KEEP=1 keeps the state directory (logs) and prints its path;
# BC_WORLD_CASES_FILE=FILE reads the cases from FILE instead.
set -u

bin=${1:?usage: test_world.sh path/to/bouncecheck}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
world="$here/../world"
cases=${BC_WORLD_CASES_FILE:-$here/cases.tsv}
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac

# shellcheck source=tests/world/preflight.sh
. "$world/preflight.sh"
world_preflight nsd postfix postgrey openssl ip

world_state bc-world

# The cases to run: lines of cases.tsv that are not comments, matching the filter.
selected=()
while IFS= read -r line; do
    case $line in ''|'#'*) continue ;; esac
    name=${line%%$'\t'*}
    if [ -n "${BC_WORLD_CASES:-}" ] && ! [[ $name =~ $BC_WORLD_CASES ]]; then
        continue
    fi
    selected+=("$line")
done < "$cases"

echo "1..$(( ${#selected[@]} + 3 ))"
n=1
if ! "$world/up.sh" "$state" > "$state/up.log" 2>&1; then
    echo "not ok $n - the test world comes up"
    sed 's/^/# /' "$state/up.log"
    exit 1
fi
echo "ok $n - the test world comes up ($(grep -c . "$state/pids") processes)"
# shellcheck disable=SC1091
. "$state/world.env"

fails=0
# The world itself, checked without BounceCheck (DNS answers, Postfix replies,
# greylisting, proxy, scripted servers), so a broken world is not mistaken for
# a broken verifier.
n=$((n + 1))
if ip netns exec "$NS" /usr/bin/python3 "$world/selfcheck.py" "$state" > "$state/selfcheck.out" 2>&1; then
    echo "ok $n - the world behaves as designed (tests/world/selfcheck.py)"
else
    fails=$((fails + 1))
    echo "not ok $n - the world behaves as designed (tests/world/selfcheck.py)"
    grep -v '^# ok:' "$state/selfcheck.out" | sed 's/^\([^#]\)/# \1/'
fi

for line in "${selected[@]}"; do
    n=$((n + 1))
    readarray -d $'\t' -t f < <(printf '%s' "$line")
    name=${f[0]} extra=${f[1]:-} emails=${f[2]:-} want_status=${f[3]:-} want_reason=${f[4]:-} assertion=${f[5]:-}
    read -r -a extra_args <<< "$extra"
    read -r -a email_args <<< "$emails"
    # Where each scripted server's log stands before the case.
    : > "$state/offsets"
    for lf in "$state"/smtp-*.log; do
        [ -e "$lf" ] || continue
        s=${lf##*/smtp-}
        echo "${s%.log} $(stat -c %s "$lf")" >> "$state/offsets"
    done
    echo "maillog $(stat -c %s "$state/maillog" 2>/dev/null || echo 0)" >> "$state/offsets"
    start=$(date +%s)
    ip netns exec "$NS" timeout 180 "$bin" verify --json --dns "$DNS" "${extra_args[@]}" "${email_args[@]}" \
        > "$state/case.out" 2> "$state/case.err"
    rc=$?
    secs=$(( $(date +%s) - start ))
    diag=$(/usr/bin/python3 "$here/check_case.py" "$state" "$name" "$state/offsets" \
        "$want_status" "$want_reason" "$assertion" "${email_args[@]}" < "$state/case.out")
    ok=$?
    if [ $rc -ne 0 ]; then
        ok=1
        diag="# bouncecheck exited with status $rc
$(sed 's/^/#   /' "$state/case.err")
$diag"
    fi
    if [ $ok -eq 0 ]; then
        echo "ok $n - $name: $want_status/$want_reason (${secs}s)"
    else
        fails=$((fails + 1))
        echo "not ok $n - $name: want $want_status/$want_reason"
        echo "# command: bouncecheck verify --json --dns $DNS $extra $emails"
        [ -n "$diag" ] && printf '%s\n' "$diag"
        [ -s "$state/case.err" ] && sed 's/^/# stderr: /' "$state/case.err"
    fi
done

# Never DATA: no scripted server saw the command, and Postfix never queued
# a message (its cleanup daemon only runs for a message being received).
n=$((n + 1))
data_seen=$(grep -l " C DATA" "$state"/smtp-*.log 2>/dev/null)
queued=$(grep -E "postfix/cleanup|message-id=" "$state/maillog" 2>/dev/null | head -3)
if [ -z "$data_seen" ] && [ -z "$queued" ]; then
    echo "ok $n - no server ever received DATA or queued a message"
else
    fails=$((fails + 1))
    echo "not ok $n - no server ever received DATA or queued a message"
    for f in $data_seen; do echo "# DATA in $f"; done
    [ -n "$queued" ] && printf '# postfix: %s\n' "$queued"
fi
[ $fails -eq 0 ]
