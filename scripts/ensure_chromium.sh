#!/usr/bin/env bash
# Make Debian's Chromium available for the browser tests (tests/browser/).
# Never fails the build: without Chromium those tests skip and say why.
set -u

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure_chromium: $CHROMIUM is missing and installing it needs root; browser tests will skip" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: $CHROMIUM is missing and there is no apt-get; browser tests will skip" >&2
    exit 0
fi
echo "ensure_chromium: installing Debian's chromium for the browser tests" >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
    echo "ensure_chromium: apt-get could not install chromium; browser tests will skip" >&2
elif [ ! -x "$CHROMIUM" ]; then
    echo "ensure_chromium: chromium installed but $CHROMIUM is still missing; browser tests will skip" >&2
fi
exit 0
