#!/usr/bin/env bash
# Fetches Keycloak (a real OpenID Connect provider, for the tests of a force's own identity
# provider) from Maven Central with mvn into .cache/keycloak/, once. 24.0.x runs on Java 17.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VERSION="${IOM_KEYCLOAK_VERSION:-24.0.5}"
CACHE="$ROOT/.cache/keycloak"
HOME_DIR="$CACHE/keycloak-$VERSION"
case "${1:-fetch}" in
  fetch)
    [[ -x "$HOME_DIR/bin/kc.sh" ]] && exit 0
    mkdir -p "$CACHE"
    echo "keycloak.sh: fetching org.keycloak:keycloak-quarkus-dist:$VERSION"
    mvn -q dependency:copy "-Dartifact=org.keycloak:keycloak-quarkus-dist:$VERSION:tar.gz" \
      "-DoutputDirectory=$CACHE"
    tar xzf "$CACHE/keycloak-quarkus-dist-$VERSION.tar.gz" -C "$CACHE"
    rm -f "$CACHE/keycloak-quarkus-dist-$VERSION.tar.gz"
    ;;
  home) echo "$HOME_DIR" ;;
  *) echo "usage: keycloak.sh fetch|home" >&2; exit 2 ;;
esac
