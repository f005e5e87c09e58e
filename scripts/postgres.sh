#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and CI: its own cluster in a directory of its own, on 127.0.0.1.
#
#   scripts/postgres.sh start <dir> <port>   create a cluster in <dir> and start it on 127.0.0.1:<port> (0: a free port)
#   scripts/postgres.sh stop <dir>           stop that server (fast shutdown) and remove <dir>
#
# start prints two lines on stdout (everything else goes to stderr), also written to <dir>/env:
#   REFERRALS_POSTGRES=Host=127.0.0.1;Port=<port>;Username=postgres
#   REFERRALS_POSTGRES_BIN=<the server's bin directory: initdb, pg_ctl, pg_basebackup, ...>
# Read them with: while IFS='=' read -r name value; do export "$name=$value"; done < <(scripts/postgres.sh start ...)
#
# The server is durable (fsync on, as a production server): the benchmarks and the durability tests measure and rely on
# real commits. It is configured for the tests: 300 connections, and wal_level=replica, 10 WAL senders and hot_standby so
# a test can make a standby of it with pg_basebackup (the cluster trusts local and 127.0.0.1 connections, replication
# ones included). Logs are in <dir>/log, the socket in <dir>, the data in <dir>/data.
#
# Server binaries: $REFERRALS_POSTGRES_BIN if set, else the newest /usr/lib/postgresql/<version>/bin (Debian's layout),
# else initdb on PATH; when none is found, PostgreSQL is installed from the Debian packages (apt-get, as root).
# Run as root, the server runs as the `postgres` user (runuser), which must be able to write <dir>; otherwise it runs as
# the calling user.
set -euo pipefail

usage() {
  echo "usage: $0 start <dir> <port> | stop <dir>" >&2
  exit 2
}

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

# Marks a directory this script created a cluster in; stop removes only such a directory.
marker=.referrals-postgres

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as the server's user.
as_server() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

find_bin() {
  if [ -n "${REFERRALS_POSTGRES_BIN:-}" ]; then
    echo "$REFERRALS_POSTGRES_BIN"
    return
  fi
  local newest
  newest=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' -printf '%h\n' 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$newest" ]; then
    echo "$newest"
    return
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  return 1
}

install_postgres() {
  is_root || die "no PostgreSQL server binaries found, and installing them needs root (apt-get install postgresql)"
  command -v apt-get >/dev/null 2>&1 || die "no PostgreSQL server binaries found, and no apt-get to install them"
  echo "postgres.sh: installing PostgreSQL from the Debian packages" >&2
  # No cluster of the package's own on port 5432: the tests make theirs. postgresql-common copies its createcluster.conf
  # to /etc with ucf, which keeps a file already there when told to.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  fi
  export DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
}

# Prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local port tries
  for tries in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "found no free port on 127.0.0.1"
}

start() {
  local dir=$1 port=$2 auto_port=0
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -le 65535 ] || die "the port must be a number from 0 to 65535, not '$port'"
  if [ "$port" -eq 0 ]; then
    auto_port=1
    port=$(free_port)
  fi
  dir=$(realpath -m -- "$dir")
  if [ -e "$dir" ] && [ -n "$(ls -A -- "$dir")" ]; then
    die "$dir is not empty; give a new or empty directory"
  fi
  # The server's socket lives in <dir>: a Unix socket path holds at most 107 bytes.
  [ "${#dir}" -le 80 ] || die "$dir is too long for the server's socket (at most 80 characters)"

  if [ -n "${REFERRALS_POSTGRES_BIN:-}" ] && [ ! -x "$REFERRALS_POSTGRES_BIN/initdb" ]; then
    die "REFERRALS_POSTGRES_BIN=$REFERRALS_POSTGRES_BIN holds no initdb"
  fi
  local bin
  if ! bin=$(find_bin); then
    install_postgres
    bin=$(find_bin) || die "PostgreSQL was installed but no initdb was found"
  fi

  mkdir -p -- "$dir"
  touch -- "$dir/$marker"
  mkdir -p -- "$dir/log"
  if is_root; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to run the server as"
    chown -R postgres: -- "$dir"
  fi
  as_server test -w "$dir" -a -x "$dir" || die "the server's user cannot write $dir (nor, perhaps, reach one of its parents)"
  printf 'REFERRALS_POSTGRES_BIN=%s\n' "$bin" >"$dir/env"

  # The server's commands run from <dir>: as another user, the caller's directory may not be readable.
  cd -- "$dir"
  echo "postgres.sh: initdb with $bin" >&2
  if ! as_server "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >"$dir/log/initdb.log" 2>&1; then
    cat "$dir/log/initdb.log" >&2
    die "initdb failed"
  fi
  cat >>"$dir/data/postgresql.conf" <<EOF

# scripts/postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
wal_level = replica
max_wal_senders = 10
hot_standby = on
fsync = on
EOF

  local attempt
  for attempt in 1 2 3; do
    echo "port = $port" >>"$dir/data/postgresql.conf"
    echo "postgres.sh: starting on 127.0.0.1:$port" >&2
    if as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/log/postgresql.log" -w -t 120 start >&2; then
      break
    fi
    # Another process took the port between the check and the start: try another one if the port was ours to choose.
    if [ "$auto_port" -eq 1 ] && [ "$attempt" -lt 3 ] && grep -q 'could not bind\|could not create any TCP/IP sockets' "$dir/log/postgresql.log"; then
      port=$(free_port)
      continue
    fi
    tail -n 50 "$dir/log/postgresql.log" >&2 || true
    as_server "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    die "the server did not start (log: $dir/log/postgresql.log)"
  done

  local waited
  for waited in $(seq 1 60); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
      local connection="Host=127.0.0.1;Port=$port;Username=postgres"
      printf 'REFERRALS_POSTGRES=%s\n' "$connection" >>"$dir/env"
      printf 'REFERRALS_POSTGRES=%s\nREFERRALS_POSTGRES_BIN=%s\n' "$connection" "$bin"
      return 0
    fi
    sleep 1
  done
  tail -n 50 "$dir/log/postgresql.log" >&2 || true
  as_server "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  die "the server does not accept connections on 127.0.0.1:$port"
}

stop() {
  local dir
  dir=$(realpath -m -- "$1")
  # Nothing there: already stopped (stop runs from exit traps, perhaps twice).
  [ -e "$dir" ] || return 0
  if [ ! -e "$dir/$marker" ]; then
    # An empty directory: a start that failed before making anything in it (or one never started).
    if [ -d "$dir" ] && [ -z "$(ls -A -- "$dir")" ]; then
      rmdir -- "$dir"
      return 0
    fi
    die "$dir was not made by '$0 start'; not removing it"
  fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    local bin
    bin=$(sed -n 's/^REFERRALS_POSTGRES_BIN=//p' "$dir/env" 2>/dev/null || true)
    [ -n "$bin" ] || bin=$(find_bin) || die "no pg_ctl to stop the server in $dir"
    cd -- "$dir"
    if ! as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2; then
      as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >&2 || true
    fi
    cd /
  fi
  rm -rf -- "$dir"
}

[ $# -ge 1 ] || usage
case "$1" in
  start)
    [ $# -eq 3 ] || usage
    start "$2" "$3"
    ;;
  stop)
    [ $# -eq 2 ] || usage
    stop "$2"
    ;;
  *)
    usage
    ;;
esac
