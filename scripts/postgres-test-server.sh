#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: Debian's PostgreSQL 15 in a temporary data folder,
# listening only on 127.0.0.1 on a free port, with password (SCRAM) authentication.
#
#   postgres-test-server.sh start STATE_DIR     initialise (first time) and start; prints the URI
#   postgres-test-server.sh stop STATE_DIR      stop the server, keep its data (start resumes it
#                                               on the same port)
#   postgres-test-server.sh destroy STATE_DIR   stop it and delete its data and STATE_DIR
#
# STATE_DIR receives:
#   uri       postgresql://aimass@127.0.0.1:PORT/aimass (no password in it)
#   password  the password of the role 'aimass' (a superuser, so tests may create databases)
#   port, datadir (the server's log is the file DATADIR.log beside it)
# PostgreSQL refuses to run as root: as root the server runs as the 'postgres' user (runuser),
# with its data in a folder of its own under $TMPDIR; otherwise it runs as the caller.
# AIMASS_POSTGRES_BIN overrides the folder with initdb and pg_ctl.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|destroy STATE_DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
state=$2
bin=${AIMASS_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  if [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "postgres-test-server: no initdb/pg_ctl in $bin; install Debian's 'postgresql' package" \
      "(scripts/install-deps.sh) or set AIMASS_POSTGRES_BIN" >&2
    exit 1
  fi
  mkdir -p "$state"
  state=$(cd "$state" && pwd)
  # A state folder left by a run that never cleaned up, whose data folder is gone: start over.
  if [ -f "$state/datadir" ] && [ ! -f "$(cat "$state/datadir")/PG_VERSION" ]; then
    rm -f "$state/datadir" "$state/port" "$state/uri" "$state/password"
  fi
  if [ ! -f "$state/datadir" ]; then
    local data
    data=$(mktemp -d "${TMPDIR:-/tmp}/aimass-postgres-XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$data"
    fi
    chmod 700 "$data"
    local password
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    local pwfile="$data.pw"
    (umask 077 && printf '%s\n' "$password" > "$pwfile")
    [ "$(id -u)" -eq 0 ] && chown postgres: "$pwfile"
    if ! as_server_user "$bin/initdb" -D "$data" -U aimass --pwfile="$pwfile" \
        --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        > "$state/initdb.log" 2>&1; then
      rm -f "$pwfile"
      echo "postgres-test-server: initdb failed; see $state/initdb.log" >&2
      exit 1
    fi
    rm -f "$pwfile"
    (umask 077 && printf '%s\n' "$password" > "$state/password")
    echo "$data" > "$state/datadir"
    free_port > "$state/port"
  fi
  local data port
  data=$(cat "$state/datadir")
  port=$(cat "$state/port")
  if as_server_user "$bin/pg_ctl" -D "$data" status > /dev/null 2>&1 && [ -f "$state/uri" ]; then
    cat "$state/uri"  # already running
    return 0
  fi
  # The log lies beside the data folder, where the server's user may write (STATE_DIR may be
  # private to the caller).
  local log="$data.log"
  # The socket goes in the data folder, not /run/postgresql (which may not exist or be ours).
  if ! as_server_user "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off" start > /dev/null; then
    echo "postgres-test-server: the server did not start; see $log" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
  fi
  local uri="postgresql://aimass@127.0.0.1:$port/postgres"
  if [ ! -f "$state/uri" ]; then
    PGPASSWORD=$(cat "$state/password") "$bin/psql" -q -h 127.0.0.1 -p "$port" -U aimass \
      -d postgres -c "CREATE DATABASE aimass" > /dev/null
  fi
  uri="postgresql://aimass@127.0.0.1:$port/aimass"
  echo "$uri" > "$state/uri"
  echo "$uri"
}

stop() {
  [ -f "$state/datadir" ] || return 0
  local data
  data=$(cat "$state/datadir")
  if [ -f "$data/postmaster.pid" ]; then
    as_server_user "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop > /dev/null
  fi
}

case "$action" in
  start) start ;;
  stop) stop ;;
  destroy)
    stop
    if [ -f "$state/datadir" ]; then
      rm -rf "$(cat "$state/datadir")" "$(cat "$state/datadir").log"
    fi
    rm -rf "$state"
    ;;
  *) usage ;;
esac
