#!/usr/bin/env bash
# Installs Debian's Chromium for the page tests when it is not there yet.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
[[ -x $CHROMIUM ]] && exit 0
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
command -v apt-get >/dev/null || { echo "browser.sh: $CHROMIUM missing and no apt-get to install it" >&2; exit 1; }
echo "browser.sh: installing Debian's chromium (page tests run in it)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
[[ -x $CHROMIUM ]] || { echo "browser.sh: apt-get finished but $CHROMIUM is missing" >&2; exit 1; }
