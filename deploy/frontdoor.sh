#!/usr/bin/env bash
# Installs Debian's nginx for the front door (one origin, TLS) when it is not there yet.
set -euo pipefail
NGINX=/usr/sbin/nginx
[[ -x $NGINX ]] && exit 0
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
command -v apt-get >/dev/null || { echo "frontdoor.sh: $NGINX missing and no apt-get to install it" >&2; exit 1; }
echo "frontdoor.sh: installing Debian's nginx (the front door)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nginx >/dev/null
[[ -x $NGINX ]] || { echo "frontdoor.sh: apt-get finished but $NGINX is missing" >&2; exit 1; }
