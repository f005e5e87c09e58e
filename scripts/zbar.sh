#!/usr/bin/env bash
# The decoders the QR tests (tests/Referrals.QrCodes.Tests) read every rendered image back with: zbarimg (zbar-tools)
# and, for SVG, rsvg-convert (librsvg2-bin). Installs the Debian packages of the ones missing from PATH (apt-get, as
# root); quiet when they are there or the install works, failing with what to install when it cannot.
#
#   scripts/zbar.sh
set -euo pipefail

missing=()
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
command -v rsvg-convert >/dev/null 2>&1 || missing+=(librsvg2-bin)
[ "${#missing[@]}" -eq 0 ] && exit 0

fail() {
  echo "zbar.sh: $* — the QR tests need zbarimg and rsvg-convert: apt-get install -y ${missing[*]}" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "${missing[*]} missing, and installing needs root"
command -v apt-get >/dev/null 2>&1 || fail "${missing[*]} missing, and there is no apt-get to install them"
echo "zbar.sh: installing ${missing[*]} from the Debian packages" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  fail "apt-get could not install ${missing[*]}"
fi
rm -f "$log"
command -v zbarimg >/dev/null 2>&1 && command -v rsvg-convert >/dev/null 2>&1 || fail "installed ${missing[*]}, yet a tool is still not on PATH"
