#!/bin/bash
# test_provider_replicas.sh BOUNCECHECK - `bouncecheck verify` against
# replicas of the big mailbox providers and mail gateways: scripted servers
# (tests/scripted_smtp.py --replica) under the providers' real MX host names,
# answering with the texts the providers document (tests/providers/
# replicas.json), in a network namespace with its own authoritative DNS
# (tests/providers/world.sh).
#
# TAP: first the profiles against their sources (check_profiles.py: well
# formed, the corpus's texts, src/lib/data/provider.c's provider names), then per
# case of cases.tsv its status/reason, its provider, the block hint and the
# recipient-limit fallback where the case asks (run_cases.py), then "no
# replica ever received DATA", and a per-replica summary as # lines. Needs
# root (skips otherwise).
#
# Environment: BC_REPLICAS_KEEP=1 keeps the work directory (replica logs,
# zones).
set -u

bin=${1:?usage: test_provider_replicas.sh BOUNCECHECK}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root (network namespace)"
    exit 0
fi
for t in ip nsd /usr/bin/python3; do
    command -v "$t" > /dev/null 2>&1 || { echo "1..0 # SKIP $t is not installed (scripts/deps.sh test)"; exit 0; }
done
[ -x "$bin" ] || { echo "1..1"; echo "not ok 1 - $bin is executable"; exit 1; }

# The library's provider table: provider rules as data, or (before them) the
# suffix table in provider.c.
providers=$src/data/providers.json
[ -f "$providers" ] || providers=$src/src/lib/provider.c
/usr/bin/python3 "$here/check_profiles.py" --tap "$here/replicas.json" "$here/world.json" \
    "$src/tests/replies/corpus.tsv" "$providers"

work=$(mktemp -d /tmp/bc-test-replicas.XXXXXX) || exit 1
chmod 755 "$work"
# shellcheck source=tests/providers/world.sh
. "$here/world.sh"
on_exit() {
    pw_down
    if [ "${BC_REPLICAS_KEEP:-0}" = 1 ]; then
        echo "# work directory kept: $work"
    else
        rm -rf "$work"
    fi
}
trap on_exit EXIT
trap 'exit 1' INT TERM

if ! pw_up "$work/world" 2> "$work/up.err"; then
    echo "not ok 4 - the provider-replica world comes up"
    sed 's/^/# /' "$work/up.err"
    echo "1..4"
    exit 1
fi

/usr/bin/python3 "$here/run_cases.py" "$bin" "$work/world" "$PW_NS" 4
