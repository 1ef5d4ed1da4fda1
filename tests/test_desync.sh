#!/bin/bash
# test_desync.sh BOUNCECHECK - mail servers whose replies go out of step with
# the commands (issue 21): a duplicated greeting, lines a firewall or proxy
# adds after a reply, a reply lost from or added to a pipelined group, a
# reply that belongs to another command. Each case is a scripted SMTP server
# (tests/scripted_smtp.py --extra/--drop/--answer) on its own loopback address
# 127.0.6.N, the MX of case-N.desync-lab.net in a real NSD (tests/nsd_local.sh);
# `bouncecheck verify --json` asks about two addresses at each: alice (the
# server accepts her) and nobody (the server rejects him, as it rejects the
# catch-all test's random address).
#
# A session out of step gives no mailbox verdict: both addresses must come
# back "unknown" (never deliverable, undeliverable or risky/accept_all). The
# controls (well-behaved servers, pipelined or not, with STARTTLS) must still
# give alice deliverable and nobody undeliverable, so the checks are not
# merely stricter. Prints TAP.
set -u

bin=${1:?usage: test_desync.sh BOUNCECHECK}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v openssl > /dev/null || { echo "1..0 # SKIP openssl is not installed"; exit 0; }
# shellcheck source=tests/nsd_local.sh
. "$here/nsd_local.sh"
nsd_local_begin desync
work=$NSD_LOCAL_WORK
pids=()
# shellcheck disable=SC2317 # called by nsd_local.sh's EXIT trap
nsd_local_on_exit() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2> /dev/null; done
}

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.desync-lab.net -days 2 \
    -keyout "$work/key.pem" -out "$work/cert.pem" > /dev/null 2>&1 ||
    { echo "Bail out! openssl req failed"; exit 1; }
read -r port smtp_port < <(nsd_local_ports 2)

# name|expect|server arguments ('|'-separated; "--opt value" pairs)
# expect: ok (alice deliverable, nobody undeliverable), unknown (both), or
# safe (unknown, or the right verdict). Bytes injected after STARTTLS's 220
# are never read as replies: with the 220 or after it, they are a failed TLS
# handshake, and the retry in plaintext (no STARTTLS) is a clean session: ok.
cases=(
    "control pipelined|ok|--mode normal"
    "control one command at a time|ok|--mode nopipelining"
    "control STARTTLS|ok|--mode normal|--cert $work/cert.pem|--key $work/key.pem"
    "greeting sent twice in one write|unknown|--mode normal|--extra greeting=220 mx.desync-lab.net ESMTP again"
    "greeting sent twice, the second late|unknown|--mode normal|--extra greeting=220 mx.desync-lab.net ESMTP again|--extra-delay 0.3"
    "an extra line after the greeting|unknown|--mode normal|--extra greeting=250 2.0.0 OK"
    "an extra line after EHLO|unknown|--mode normal|--extra ehlo=250 2.0.0 OK"
    "an extra line after EHLO, late|unknown|--mode normal|--extra ehlo=250 2.0.0 OK|--extra-delay 0.3"
    "an extra line after EHLO, late, no pipelining|unknown|--mode nopipelining|--extra ehlo=250 2.0.0 OK|--extra-delay 0.3"
    "an extra reply in the pipelined group|unknown|--mode normal|--extra mail=250 2.1.5 OK"
    "an extra reply after the first RCPT, late|unknown|--mode normal|--extra rcpt:1=550 5.1.1 no such user|--extra-delay 0.3"
    "a reply missing from the pipelined group|unknown|--mode normal|--drop RCPT:1"
    "EHLO answered 220|unknown|--mode normal|--answer EHLO=220 mx.desync-lab.net ESMTP"
    "RCPT answered 354|unknown|--mode normal|--answer RCPT=354 go ahead"
    "RCPT answered 221|unknown|--mode nopipelining|--answer RCPT=221 2.0.0 Bye"
    "QUIT answered 550|unknown|--mode normal|--answer QUIT=550 5.1.1 no such user"
    "RCPT answered with a line that is no reply|unknown|--mode normal|--answer RCPT=2S0 garbage"
    "the connection closed after RCPT|unknown|--mode resetrcpt"
    "a server that never greets (the deadline)|deadline|--mode tarpit"
    "bytes after STARTTLS's 220|ok|--mode normal|--cert $work/cert.pem|--key $work/key.pem|--extra starttls=250 2.0.0 injected"
)

{
    printf '%s\n' '$ORIGIN desync-lab.net.' '$TTL 300' \
        '@ IN SOA ns.desync-lab.net. hostmaster.desync-lab.net. 1 3600 600 86400 60' '@ IN NS ns' 'ns IN A 127.0.0.1'
    for i in "${!cases[@]}"; do
        printf 'case-%d IN MX 10 mx%d\nmx%d IN A 127.0.6.%d\n' "$i" "$i" "$i" $((i + 1))
    done
} > "$work/desync-lab.net.zone"
nsd_local_start "$work" "$port" . desync-lab.net || exit 1

for i in "${!cases[@]}"; do
    IFS='|' read -r -a f <<< "${cases[$i]}"
    d=case-$i.desync-lab.net
    args=(--listen "127.0.6.$((i + 1)):$smtp_port" --log "$work/smtp-$i.log"
        --reply "*=550 5.1.1 no such user" --reply "alice@$d=250 2.1.5 OK")
    for a in "${f[@]:2}"; do args+=("${a%% *}" "${a#* }"); done
    mkfifo "$work/ready-$i"
    "$NSD_LOCAL_PY" "$here/scripted_smtp.py" "${args[@]}" > "$work/ready-$i" 2> "$work/smtp-$i.err" &
    pids+=($!)
    if ! timeout 10 head -n1 "$work/ready-$i" | grep -q ready; then
        echo "Bail out! scripted server $i did not start: $(cat "$work/smtp-$i.err")"
        exit 1
    fi
done

addrs=()
dl_addrs=()
for i in "${!cases[@]}"; do
    a=("alice@case-$i.desync-lab.net" "nobody@case-$i.desync-lab.net")
    if [[ ${cases[$i]} == *"|deadline|"* ]]; then dl_addrs+=("${a[@]}"); else addrs+=("${a[@]}"); fi
done
# the deadline (3 s) passes while the server has not greeted: the result
# says where the session was and has the conversation so far
"$bin" verify --json --trace --dns "127.0.0.1:$port" --smtp-port "$smtp_port" --allow-private \
    --timeout 3 "${dl_addrs[@]}" > "$work/out-deadline.json" 2> "$work/verify-deadline.err"
"$bin" verify --json --trace --dns "127.0.0.1:$port" --smtp-port "$smtp_port" --allow-private \
    --domain-rate 0 --command-timeout 3 --timeout 20 --greylist-schedule 0 "${addrs[@]}" \
    > "$work/out.json" 2> "$work/verify.err"
rc=$?

"$NSD_LOCAL_PY" - "$work" "$rc" "${cases[@]}" <<'EOF'
import json, sys
work, rc, cases = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
try:
    with open(work + "/out.json") as f:
        text = f.read()
    res = {}

    # one JSON document per address (an array or objects one per line)
    with open(work + "/out-deadline.json") as f:
        text += "\n" + f.read()
    doc = [json.loads(l) for l in text.splitlines() if l.strip()]
    for r in doc:
        res[r["email"]] = r
except Exception as e:
    print("1..1")
    print("not ok 1 - verify printed JSON (exit %d): %s" % (rc, e))
    for l in open(work + "/verify.err").read().splitlines()[:20]:
        print("# " + l)
    sys.exit(0)
print("1..%d" % (2 * len(cases)))
n = 0
for i, c in enumerate(cases):
    name, expect = c.split("|")[:2]
    for who in ("alice", "nobody"):
        n += 1
        r = res.get("%s@case-%d.desync-lab.net" % (who, i))
        got = "missing" if r is None else "%s/%s" % (r["status"], r["reason"])
        right = "deliverable" if who == "alice" else "undeliverable"
        if expect == "deadline":
            want = "unknown/timeout at the greeting, with a transcript"
            tr = (r or {}).get("transcript") or []
            good = (r is not None and r["status"] == "unknown" and r["reason"] == "timeout"
                    and ((r.get("smtp") or {}).get("step")) == "greeting"
                    and any("connected to" in t.get("line", "") for t in tr))
            got += ", smtp.step %s, %d transcript lines" % (((r or {}).get("smtp") or {}).get("step"), len(tr))
        elif expect == "ok":
            want = right
            good = r is not None and r["status"] == want
        elif expect == "safe":
            want = right + " or unknown"
            good = r is not None and r["status"] in (right, "unknown")
        else:
            want = "unknown"
            good = r is not None and r["status"] == "unknown"
        # the reply shown is the one that ended the session, never an
        # earlier command's (MAIL's 250 shown for a RCPT that got garbage)
        sm = (r or {}).get("smtp") or {}
        if expect == "unknown" and sm.get("code") is not None and sm["code"] < 400:
            good, got = False, got + ", smtp.code %s" % sm["code"]
        # and the result says why no server could tell
        if expect == "unknown" and r is not None and r["reason"] == "protocol_error" and \
                "out of step" not in (r.get("detail") or "") and "bad reply" not in (r.get("detail") or "") \
                and "reply" not in (r.get("detail") or ""):
            good, got = False, got + ", detail %r" % r.get("detail")
        print("%s %d - %s: %s is %s (got %s)" % ("ok" if good else "not ok", n, name, who, want, got))
        if expect == "unknown" and r is not None:
            print("#   smtp.step %s code %s detail %s" % (sm.get("step"), sm.get("code"), r.get("detail")))
        if not good and r is not None:
            for t in (r.get("transcript") or [])[:40]:
                print("#   %s %s" % (t.get("dir"), t.get("line")))
EOF
