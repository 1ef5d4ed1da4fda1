#!/bin/bash
# test_reply_corpus_world.sh BOUNCECHECK - every reply of the labelled corpus
# (tests/replies/corpus.tsv) end to end: a scripted SMTP server answers
# RCPT TO:<rID@ID.bcreplies.net> with reply ID, in a network namespace with
# its own authoritative DNS (tests/replies/world.sh), and `bouncecheck verify
# -i` verifies every address; its status and reason are compared with the
# corpus labels.
#
# TAP: one test per reply (`not ok` when the status differs from the label;
# the reason is reported in the test's description but not checked), then
# "no non-mailbox reply is undeliverable" (the product's promise: a reply that
# says nothing about the mailbox never makes an address undeliverable), then
# a per-class table of what came out as # lines. Needs root (skips otherwise).
#
# Environment: BC_REPLY_CORPUS another corpus file; BC_REPLY_JOBS verifier
# processes at once (default 4); BC_REPLY_KEEP=1 keeps the work directory.
set -u

bin=${1:?usage: test_reply_corpus_world.sh BOUNCECHECK}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=${BC_REPLY_CORPUS:-$here/corpus.tsv}
jobs=${BC_REPLY_JOBS:-4}

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root (network namespace)"
    exit 0
fi
for t in ip nsd /usr/bin/python3; do
    command -v "$t" > /dev/null 2>&1 || { echo "1..0 # SKIP $t is not installed (scripts/deps.sh test)"; exit 0; }
done
[ -x "$bin" ] || { echo "1..1"; echo "not ok 1 - $bin is executable"; exit 1; }
/usr/bin/python3 "$here/check_corpus.py" --quiet "$corpus" ||
    { echo "1..1"; echo "not ok 1 - $corpus is well formed (check_corpus.py)"; exit 1; }

work=$(mktemp -d /tmp/bc-test-replies.XXXXXX) || exit 1
chmod 755 "$work"
# shellcheck source=tests/replies/world.sh
. "$here/world.sh"
on_exit() {
    rw_down
    if [ "${BC_REPLY_KEEP:-0}" = 1 ]; then
        echo "# work directory kept: $work"
    else
        rm -rf "$work"
    fi
}
trap on_exit EXIT
trap 'exit 1' INT TERM

if ! rw_up "$work/world" "$corpus" 2> "$work/up.err"; then
    echo "1..1"
    echo "not ok 1 - the reply-corpus world comes up"
    sed 's/^/# /' "$work/up.err"
    exit 1
fi

# One verifier process per batch (replies sharing an MX host are in different
# batches), a few at a time; one greylisting recheck after 1 s.
t0=$(date +%s)
rw_verify "$bin" "$work" "$jobs"
t1=$(date +%s)

/usr/bin/python3 "$here/compare.py" --tap "$work/world/plan.tsv" "$work" "$RW_BATCHES" "$((t1 - t0))"
