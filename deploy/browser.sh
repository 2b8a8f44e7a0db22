#!/usr/bin/env bash
# Installs Debian's Chromium for the page tests when it is not there yet.
exec "$(dirname "$0")/debian.sh" chromium /usr/bin/chromium "page tests run in it"
