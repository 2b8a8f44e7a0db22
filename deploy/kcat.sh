#!/usr/bin/env bash
# Installs Debian's kcat for the credential tests when it is not there yet (as browser.sh
# installs Chromium): they check that the librdkafka file `iom credentials create` writes
# works with `kcat -F` unchanged.
set -euo pipefail
KCAT=/usr/bin/kcat
[[ -x $KCAT ]] && exit 0
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
command -v apt-get >/dev/null || { echo "kcat.sh: $KCAT missing and no apt-get to install it" >&2; exit 1; }
echo "kcat.sh: installing Debian's kcat (the credential tests run it)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq kcat >/dev/null
[[ -x $KCAT ]] || { echo "kcat.sh: apt-get finished but $KCAT is missing" >&2; exit 1; }
