#!/usr/bin/env bash
# Sourced by the scripts that install a test's Debian packages (zbar.sh, chromium.sh): installs the packages named in the
# array `missing` with apt-get (as root), quietly; fails with what to install when it cannot.
#
#   missing=(pkg ...); need="what needs them"; name=script.sh; source scripts/apt-install.sh; apt_install_missing

apt_fail() {
  echo "$name: $* — $need: apt-get install -y ${missing[*]}" >&2
  exit 1
}

apt_install_missing() {
  [ "$(id -u)" -eq 0 ] || apt_fail "${missing[*]} missing, and installing needs root"
  command -v apt-get >/dev/null 2>&1 || apt_fail "${missing[*]} missing, and there is no apt-get to install them"
  echo "$name: installing ${missing[*]} from the Debian packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  local log
  log=$(mktemp)
  if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    apt_fail "apt-get could not install ${missing[*]}"
  fi
  rm -f "$log"
}
