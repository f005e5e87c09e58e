#!/usr/bin/env bash
# The browser the web sample's end-to-end tests (tests/Referrals.Web.Tests) drive: Debian's chromium and its chromedriver,
# at /usr/bin/chromium and /usr/bin/chromedriver. Installs the Debian packages of the ones missing (apt-get, as root); quiet
# when they are there or the install works, failing with what to install when it cannot. Never downloads a browser
# from anywhere else.
#
#   scripts/chromium.sh
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
[ "${#missing[@]}" -eq 0 ] && exit 0

fail() {
  echo "chromium.sh: $* — the browser tests need /usr/bin/chromium and /usr/bin/chromedriver: apt-get install -y ${missing[*]}" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "${missing[*]} missing, and installing needs root"
command -v apt-get >/dev/null 2>&1 || fail "${missing[*]} missing, and there is no apt-get to install them"
echo "chromium.sh: installing ${missing[*]} from the Debian packages" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  fail "apt-get could not install ${missing[*]}"
fi
rm -f "$log"
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || fail "installed ${missing[*]}, yet /usr/bin/chromium or /usr/bin/chromedriver is still missing"
