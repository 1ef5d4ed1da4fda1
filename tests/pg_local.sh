# shellcheck shell=bash
# pg_local.sh - sourced by the shell tests that need a real PostgreSQL
# server (tests/test_store_pg.sh): starts a throwaway cluster from Debian's
# postgresql binaries in a temporary directory, listening only on
# 127.0.0.1 on a free port (and a socket directory inside the temporary
# directory), with password (scram-sha-256) authentication for its one
# superuser, and stops and deletes it all on exit.
#
# A script calls pg_local_begin NAME (skips the whole script when the
# binaries are missing, or when running as root without the postgres user
# to run them as), then pg_local_start. Set here: PG_LOCAL_BIN (the
# binaries' directory), PG_LOCAL_WORK (the temporary directory),
# PG_LOCAL_PORT, PG_LOCAL_USER and PG_LOCAL_PASSWORD (the superuser),
# PG_LOCAL_URL (postgresql://USER:PASSWORD@127.0.0.1:PORT/bctest, a
# database made at start). pg_local_createdb NAME makes another database
# and prints its URL; pg_local_psql DB ARGS... runs psql on database DB.
# Call these functions in the script's own shell, not in $(...), except
# pg_local_createdb. PG_LOCAL_OPTS, if set, adds server options (-c
# name=value ...) to the cluster's start.

PG_LOCAL_BIN=""
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && PG_LOCAL_BIN=$d # the glob sorts: the newest wins
done
PG_LOCAL_WORK=""
PG_LOCAL_PORT=""
PG_LOCAL_USER=bc
PG_LOCAL_PASSWORD=""
PG_LOCAL_URL=""
PG_LOCAL_RUNNING=""
PG_LOCAL_PY=/usr/bin/python3
[ -x "$PG_LOCAL_PY" ] || PG_LOCAL_PY=python3

# pg_local_as CMD... - runs CMD as the cluster's owner: the postgres user
# when we are root (initdb refuses root), else ourselves.
pg_local_as() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# pg_local_begin NAME - skips the script (a TAP plan of 0 and exit 0) when
# PostgreSQL cannot be run here; otherwise makes the work directory and
# sets the traps: on exit, the script's own pg_local_on_exit if defined,
# then the cluster is stopped and the directory removed.
pg_local_begin() {
    if [ -z "$PG_LOCAL_BIN" ]; then
        echo "1..0 # SKIP PostgreSQL is not installed (Debian package postgresql)"
        exit 0
    fi
    if [ "$(id -u)" = 0 ] && { ! id postgres >/dev/null 2>&1 || ! command -v runuser >/dev/null 2>&1; }; then
        echo "1..0 # SKIP running as root without a postgres user (or runuser) to run PostgreSQL as"
        exit 0
    fi
    PG_LOCAL_WORK=$(mktemp -d "/tmp/bc-test-$1.XXXXXX") || exit 1
    chmod 0755 "$PG_LOCAL_WORK"
    trap pg_local_exit EXIT
    trap 'exit 1' INT TERM
}

# pg_local_exit - the EXIT trap pg_local_begin sets.
pg_local_exit() {
    if declare -F pg_local_on_exit > /dev/null; then
        pg_local_on_exit
    fi
    pg_local_stop
    [ -z "$PG_LOCAL_WORK" ] || rm -rf "$PG_LOCAL_WORK"
}

# pg_local_free_port - prints a TCP port free on 127.0.0.1 now.
pg_local_free_port() {
    "$PG_LOCAL_PY" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# pg_local_start - initdb, start, and create the database bctest. Returns
# non-zero (with the server log on stderr) when PostgreSQL did not start.
pg_local_start() {
    local w=$PG_LOCAL_WORK
    PG_LOCAL_PASSWORD="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    mkdir -p "$w/pg" "$w/pg/sock" || return 1
    printf '%s\n' "$PG_LOCAL_PASSWORD" > "$w/pg/pwfile"
    [ "$(id -u)" != 0 ] || chown -R postgres: "$w/pg"
    chmod 0700 "$w/pg"
    if ! pg_local_as "$PG_LOCAL_BIN/initdb" -D "$w/pg/data" -U "$PG_LOCAL_USER" --pwfile="$w/pg/pwfile" \
            -A scram-sha-256 -E UTF8 --locale=C.UTF-8 > "$w/pg/initdb.log" 2>&1; then
        cat "$w/pg/initdb.log" >&2
        return 1
    fi
    rm -f "$w/pg/pwfile"
    local tries
    for tries in 1 2 3; do
        PG_LOCAL_PORT=$(pg_local_free_port)
        if pg_local_as "$PG_LOCAL_BIN/pg_ctl" -D "$w/pg/data" -l "$w/pg/server.log" -w -t 60 \
                -o "-c listen_addresses=127.0.0.1 -p $PG_LOCAL_PORT -k $w/pg/sock -c fsync=off -c max_connections=60 ${PG_LOCAL_OPTS:-}" \
                start > "$w/pg/pg_ctl.log" 2>&1; then
            PG_LOCAL_RUNNING=1
            break
        fi
    done
    if [ -z "$PG_LOCAL_RUNNING" ]; then
        cat "$w/pg/pg_ctl.log" "$w/pg/server.log" >&2 2>/dev/null
        return 1
    fi
    PG_LOCAL_URL=$(pg_local_createdb bctest) || return 1
    export PG_LOCAL_URL
}

# pg_local_createdb NAME - creates database NAME; prints its URL.
pg_local_createdb() {
    PGPASSWORD=$PG_LOCAL_PASSWORD "$PG_LOCAL_BIN/createdb" -h 127.0.0.1 -p "$PG_LOCAL_PORT" \
        -U "$PG_LOCAL_USER" "$1" || return 1
    printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' "$PG_LOCAL_USER" "$PG_LOCAL_PASSWORD" "$PG_LOCAL_PORT" "$1"
}

# pg_local_psql DB ARGS... - psql on database DB (quiet, stops at the first error).
pg_local_psql() {
    local db=$1
    shift
    PGPASSWORD=$PG_LOCAL_PASSWORD "$PG_LOCAL_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
        -p "$PG_LOCAL_PORT" -U "$PG_LOCAL_USER" -d "$db" "$@"
}

# pg_local_stop - stops the cluster if it runs (at once: it is thrown away).
pg_local_stop() {
    [ -n "$PG_LOCAL_RUNNING" ] || return 0
    pg_local_as "$PG_LOCAL_BIN/pg_ctl" -D "$PG_LOCAL_WORK/pg/data" -m immediate -w stop > /dev/null 2>&1
    PG_LOCAL_RUNNING=""
}
