#!/usr/bin/env bash
# Vendors Leaflet (the console's evidence map over a force's tile server) from the npm
# registry with `npm pack`, pinned by version and checked against the registry's sha512
# integrity, into .cache/leaflet/leaflet-VERSION/ (ignored, as Kafka and Keycloak are): the
# service serves leaflet.js and leaflet.css itself, so pages load nothing from elsewhere.
#   leaflet.sh fetch|dir
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VERSION="1.9.4"
INTEGRITY="sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
CACHE="$ROOT/.cache/leaflet"
DIR="$CACHE/leaflet-$VERSION"
case "${1:-fetch}" in
  fetch)
    [[ -s "$DIR/leaflet.js" && -s "$DIR/leaflet.css" ]] && exit 0
    command -v npm >/dev/null || { echo "leaflet.sh: npm not found (Debian: apt-get install npm)" >&2; exit 1; }
    mkdir -p "$CACHE"
    work="$(mktemp -d "$CACHE/fetch.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    echo "leaflet.sh: fetching leaflet@$VERSION with npm pack"
    (cd "$work" && npm pack --silent "leaflet@$VERSION" >/dev/null)
    tgz="$work/leaflet-$VERSION.tgz"
    # node comes with npm: the registry's integrity form (sha512-<base64>) without openssl
    got="$(node -e 'const c = require("crypto"), fs = require("fs");
      process.stdout.write("sha512-" + c.createHash("sha512")
        .update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
    [[ $got == "$INTEGRITY" ]] || { echo "leaflet.sh: leaflet-$VERSION.tgz integrity $got, expected $INTEGRITY" >&2; exit 1; }
    tar xzf "$tgz" -C "$work" package/dist/leaflet.js package/dist/leaflet.css package/LICENSE
    mkdir -p "$work/out"
    mv "$work/package/dist/leaflet.js" "$work/package/dist/leaflet.css" "$work/package/LICENSE" "$work/out/"
    rm -rf "$DIR" && mv "$work/out" "$DIR"  # whole or not at all
    ;;
  dir) echo "$DIR" ;;
  *) echo "usage: leaflet.sh fetch|dir" >&2; exit 2 ;;
esac
