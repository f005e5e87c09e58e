#!/usr/bin/env bash
# Checks the branch of scripts/postgres.sh that installs PostgreSQL from the Debian packages (taken on a machine with no
# server binaries): builds a minimal Debian bookworm root with debootstrap, runs `postgres.sh start` in it (apt-get
# installs the server, initdb, start on a free port), connects from outside with a query, runs `postgres.sh stop`, and
# removes the root. Needs root, debootstrap (installed with apt-get when missing) and the Debian mirror; ~1 minute.
#
#   scripts/check-postgres-install.sh [dir]     (dir: where to build the root; default a new temporary directory)
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "check-postgres-install.sh: needs root" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-$(mktemp -d /tmp/pg-install-check.XXXXXX)}
chmod 755 "$root" # the root of the new system: the server's user must reach /tmp in it
command -v debootstrap >/dev/null 2>&1 || { apt-get update -q >&2 && apt-get install -y -q debootstrap >&2; }

cleanup() {
  umount -R "$root/dev" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || true
  rm -rf -- "$root"
}
trap cleanup EXIT

debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >&2
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
cp /etc/resolv.conf "$root/etc/"
cp "$here/postgres.sh" "$root/root/postgres.sh"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

in_root sh -c '! ls /usr/lib/postgresql >/dev/null 2>&1 && ! command -v initdb >/dev/null' || { echo "the new root has PostgreSQL already" >&2; exit 1; }
env_lines=$(in_root bash /root/postgres.sh start /tmp/pg 0)
port=$(printf '%s\n' "$env_lines" | sed -n 's/^REFERRALS_POSTGRES=.*Port=\([0-9]*\);.*/\1/p')
[ -n "$port" ] || { echo "postgres.sh start printed no port: $env_lines" >&2; exit 1; }
in_root sh -c "/usr/lib/postgresql/*/bin/psql -h 127.0.0.1 -p $port -U postgres -Atc 'select version()'"
in_root bash /root/postgres.sh stop /tmp/pg
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "the server still listens on $port after stop" >&2
  exit 1
fi
echo "check-postgres-install.sh: PostgreSQL installed from the Debian packages, started on $port, stopped: ok"
