# shellcheck shell=bash
# world.sh - sourced by tests/replies/test_reply_corpus_world.sh and
# bench/replies/run.sh: brings up the reply-corpus world in a network
# namespace of its own and takes it down again.
#
# The world (tests/replies/plan.py lays it out):
#   11.22.0.1      NSD, authoritative for the root zone '.' (SOA and NS only, so
#                  every other name is NXDOMAIN), bcreplies.net (one domain per
#                  corpus reply) and the providers' zones (google.com,
#                  outlook.com, yahoodns.net, ...) holding their real MX names;
#                  /etc/netns/NS/resolv.conf points there
#   11.22.1.x ...  one address per MX host, all served by ONE scripted SMTP
#                  server (tests/scripted_smtp.py --corpus) on 0.0.0.0:25, which
#                  answers RCPT TO:<rID@...> with corpus reply ID
#
# Functions (call them in the script's own shell, not in $(...)):
#   rw_up DIR CORPUS   lays out the world in DIR (plan.py) and starts it; sets
#                      RW_NS (namespace) and RW_BATCHES (number of batches);
#                      returns 1 with a message on stderr when something fails
#   rw_down            stops everything rw_up started and deletes the namespace;
#                      safe to call twice and after a failed rw_up
#   rw_exec CMD...     runs CMD inside the namespace
#   rw_verify BIN OUT JOBS
#                      verifies every batch with `BIN verify -i batch-K.csv -o
#                      OUT/result-K.ndjson` inside the namespace, JOBS verifier
#                      processes at once; each one's exit status in
#                      OUT/verify-K.rc, its output in OUT/verify-K.out
# Needs root, ip, nsd and /usr/bin/python3.

RW_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RW_TESTS=$(cd "$RW_HERE/.." && pwd)
RW_NS=""
RW_DIR=""
RW_PIDS=()
RW_BATCHES=0
RW_DNS=11.22.0.1

# shellcheck source=tests/world/wait_for.sh
. "$RW_TESTS/world/wait_for.sh"
# shellcheck source=tests/world/ns_world.sh
. "$RW_TESTS/world/ns_world.sh"

rw_exec() { ip netns exec "$RW_NS" "$@"; }

# rw_bg NAME CMD... - starts CMD in the namespace in the background, output
# in $RW_DIR/NAME.out; remembers its pid.
rw_bg() {
    local name=$1
    shift
    ip netns exec "$RW_NS" "$@" > "$RW_DIR/$name.out" 2>&1 < /dev/null &
    RW_PIDS+=("$!")
}

rw_up() {
    local dir=$1 corpus=$2 a z f nsd_bin
    RW_DIR=$dir
    mkdir -p "$dir" || return 1
    RW_BATCHES=$(/usr/bin/python3 "$RW_HERE/plan.py" "$corpus" "$dir") ||
        { echo "world.sh: plan.py failed" >&2; return 1; }
    RW_NS="bcreplies-$$"
    ip netns add "$RW_NS" || { echo "world.sh: ip netns add $RW_NS failed" >&2; RW_NS=""; return 1; }
    ip -n "$RW_NS" link set lo up || return 1
    # /32s on lo (the kernels here have no dummy interface type), in one batch.
    while read -r a; do
        echo "address add $a/32 dev lo"
    done < "$dir/addrs.list" | ip -n "$RW_NS" -batch - ||
        { echo "world.sh: adding the addresses failed" >&2; return 1; }
    mkdir -p "/etc/netns/$RW_NS"
    echo "nameserver $RW_DNS" > "/etc/netns/$RW_NS/resolv.conf"

    nsd_bin=$(nsd_conf_write "$dir" "$RW_DNS") || return 1
    # In a process group of its own (setsid does not fork here, as the caller is
    # no group leader): NSD signals its group when it stops.
    rw_bg nsd setsid "$nsd_bin" -d -c "$dir/nsd.conf"
    wait_for "$dir/nsd.log" "nsd started" 10 ||
        { echo "world.sh: nsd did not start: $(cat "$dir/nsd.log" "$dir/nsd.out" 2>/dev/null)" >&2; return 1; }

    rw_bg smtp /usr/bin/python3 "$RW_TESTS/scripted_smtp.py" --listen 0.0.0.0:25 --mode normal \
        --corpus "$corpus" --log "$dir/smtp.log"
    wait_for "$dir/smtp.out" ready 10 ||
        { echo "world.sh: the scripted server did not start: $(cat "$dir/smtp.out")" >&2; return 1; }

    # The world answers as laid out: the root's NS, NXDOMAIN for a random
    # name, the first reply's MX, and its server's answer to RCPT.
    rw_exec /usr/bin/python3 - "$dir/plan.tsv" "$RW_DNS" <<'EOF' ||
import smtplib, socket, subprocess, sys
plan = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
rid, email, _, _, host, ip = plan[0][:6]
if socket.gethostbyname(host) != ip:
    sys.exit("%s does not resolve to %s" % (host, ip))
try:
    socket.gethostbyname("no-such-name-%d.example-nx.net" % 12345)
    sys.exit("a random name resolves")
except socket.gaierror:
    pass
s = smtplib.SMTP(ip, 25, local_hostname="selfcheck.bcreplies.net", timeout=10)
s.ehlo()
s.mail("selfcheck@bcreplies.net")
c1, _ = s.rcpt(email)
c2, _ = s.rcpt("nobody-12345@" + email.split("@")[1])
s.quit()
if c2 != 550:
    sys.exit("RCPT of an unknown local part answered %d" % c2)
EOF
        { echo "world.sh: the world does not answer as laid out (see $dir)" >&2; return 1; }
    return 0
}

rw_verify() {
    local bin=$1 out=$2 jobs=$3 k p pids=()
    # Waits for the verifier processes only: the world's servers are
    # children of this shell too.
    for ((k = 0; k < RW_BATCHES; k++)); do
        (
            # (deadlines far above what a reply here takes: a busy machine
            # starves the scripted servers for seconds, and a verdict
            # "timeout" says nothing of how the reply was read)
            rw_exec "$bin" verify --quiet --dns "$RW_DNS" --greylist-schedule 1 --timeout 30 \
                --connect-timeout 10 --greeting-timeout 15 --command-timeout 15 --domain-rate 0 \
                --helo verify.bcreplies.net --from verify@bcreplies.net \
                -i "$RW_DIR/batch-$k.csv" -o "$out/result-$k.ndjson" > "$out/verify-$k.out" 2>&1
            echo $? > "$out/verify-$k.rc"
        ) &
        pids+=("$!")
        if [ "${#pids[@]}" -ge "$jobs" ]; then
            wait "${pids[0]}"
            pids=("${pids[@]:1}")
        fi
    done
    for p in "${pids[@]}"; do wait "$p"; done
    return 0
}

rw_down() {
    ns_world_down "$RW_NS" "${RW_PIDS[@]}"
    RW_PIDS=()
    RW_NS=""
}
