#!/usr/bin/env bash
# Installs Debian's Prometheus (with promtool) when it is not there yet: `make run` starts it
# against every service worker, and `make test` runs the alert rules' own tests in promtool.
exec "$(dirname "$0")/debian.sh" prometheus /usr/bin/promtool "alert rule tests and make run's monitoring" --no-install-recommends
