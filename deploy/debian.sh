#!/usr/bin/env bash
# Installs one Debian package when the program it provides is missing:
#   debian.sh PACKAGE PROGRAM WHY [apt-get install options...]
# Several checkouts (or make -j) may install at once: dpkg allows one apt-get at a time, so
# the install waits for the lock (flock here, DPkg::Lock::Timeout for any other apt user)
# instead of failing with "Unable to acquire the dpkg frontend lock".
set -euo pipefail
package=$1 program=$2 why=$3
shift 3
[[ -x $program ]] && exit 0
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
command -v apt-get >/dev/null || { echo "debian.sh: $program missing and no apt-get to install $package" >&2; exit 1; }
exec 9>"${TMPDIR:-/tmp}/throughcare-apt.lock"
flock -w 900 9 || { echo "debian.sh: waited 15 min for another install of ours" >&2; exit 1; }
[[ -x $program ]] && exit 0  # installed by whoever held the lock
echo "debian.sh: installing Debian's $package ($why)"
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" "$package" >/dev/null
[[ -x $program ]] || { echo "debian.sh: apt-get finished but $program is missing" >&2; exit 1; }
