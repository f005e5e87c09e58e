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

name=chromium.sh
need="the browser tests need /usr/bin/chromium and /usr/bin/chromedriver"
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install_missing
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || apt_fail "installed ${missing[*]}, yet /usr/bin/chromium or /usr/bin/chromedriver is still missing"
