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

name=zbar.sh
need="the QR tests need zbarimg and rsvg-convert"
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install_missing
command -v zbarimg >/dev/null 2>&1 && command -v rsvg-convert >/dev/null 2>&1 || apt_fail "installed ${missing[*]}, yet a tool is still not on PATH"
