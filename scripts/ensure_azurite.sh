#!/usr/bin/env bash
# Install Azurite (Microsoft's Azure Storage emulator, an npm package) into .cache/azurite
# for the Azure Blob backend tests (tests/backends/). Never fails the build: without
# Azurite (or without npm) those tests skip and say why.
set -u

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.cache/azurite"
BIN="$PREFIX/node_modules/.bin/azurite-blob"
VERSION="${AZURITE_VERSION:-3}"

if [ -x "$BIN" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "ensure_azurite: node/npm not found; Azure backend tests will skip" >&2
    exit 0
fi
echo "ensure_azurite: installing azurite@$VERSION into .cache/azurite" >&2
mkdir -p "$PREFIX"
if ! npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "azurite@$VERSION" >/dev/null; then
    echo "ensure_azurite: npm could not install azurite; Azure backend tests will skip" >&2
elif [ ! -x "$BIN" ]; then
    echo "ensure_azurite: azurite installed but $BIN is missing; Azure backend tests will skip" >&2
fi
exit 0
