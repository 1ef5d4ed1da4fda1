#!/usr/bin/env bash
# test_slow_clients.sh BOUNCECHECK - slow clients (1,000 connections dripping
# their headers, slow bodies, idle keep-alive connections, floods through a
# trusted proxy) cannot starve `bouncecheck serve`: runs
# tests/api/test_slow_clients.py on loopback (127.0.0.x), offline, no root.
# Prints TAP.
set -u
bin=${1:?usage: test_slow_clients.sh path/to/bouncecheck}
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=/usr/bin/python3; [ -x $py ] || py=python3
# 1,000 client sockets here and as many in the server (which inherits the
# limit): raise the soft limit on open files towards the hard one.
need=2600
soft=$(ulimit -Sn)
if [ "$soft" != unlimited ] && [ "$soft" -lt $need ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ] || [ "$hard" -ge $need ]; then ulimit -Sn $need; else ulimit -Sn "$hard"; fi
fi
exec "$py" "$here/api/test_slow_clients.py" "$bin"
