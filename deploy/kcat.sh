#!/usr/bin/env bash
# Installs Debian's kcat for the credential tests when it is not there yet (as browser.sh
# installs Chromium): they check that the librdkafka file `iom credentials create` writes
# works with `kcat -F` unchanged.
exec "$(dirname "$0")/debian.sh" kcat /usr/bin/kcat "the credential tests run it"
