#!/usr/bin/env bash
# Installs Debian's nginx for the front door (one origin, TLS) when it is not there yet.
exec "$(dirname "$0")/debian.sh" nginx /usr/sbin/nginx "the front door" --no-install-recommends
