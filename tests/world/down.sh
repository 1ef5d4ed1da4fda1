#!/bin/bash
# down.sh DIR - tears down the world that up.sh DIR brought up, also after a
# failed or partial up: stops Postfix, ends every process up.sh started (by
# the pids it recorded) and any other process still inside the namespace,
# deletes the namespace and /etc/netns/NAME. Leaves DIR itself (logs) to the
# caller. Safe to run twice.
set -u
dir=${1:?usage: down.sh STATEDIR}
[ -d "$dir" ] || exit 0
ns=$(cat "$dir/netns" 2>/dev/null)
[ -n "$ns" ] || exit 0

if [ -s "$dir/postfix.dir" ] && ip netns list 2>/dev/null | grep -qw "$ns"; then
    ip netns exec "$ns" postfix -c "$(cat "$dir/postfix.dir")" stop >/dev/null 2>&1
fi

# Every process we started runs inside the namespace, and nothing else does:
# the recorded pids are checked against the namespace (a pid may have been
# reused since), then whatever else still lives there is ended too.
nsid=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null)
ours() {
    local p _
    while read -r p _; do
        [ -n "$nsid" ] && [ "$(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null)" = "$nsid" ] && echo "$p"
    done < <(cat "$dir/pids" 2>/dev/null)
    ip netns pids "$ns" 2>/dev/null
}
for p in $(ours); do kill -TERM "$p" 2>/dev/null; done
for _ in $(seq 1 30); do
    [ -z "$(ours)" ] && break
    sleep 0.1
done
for p in $(ours); do kill -KILL "$p" 2>/dev/null; done

ip netns del "$ns" 2>/dev/null
case $ns in
    bcworld-*) rm -rf "/etc/netns/$ns" ;;
esac
exit 0
