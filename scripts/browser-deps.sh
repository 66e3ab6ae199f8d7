#!/bin/sh
# What the browser tests need beyond Python: Debian's Chromium (driven by Playwright; its
# own browser downloads are not used) and axe-core from npm (tests/browser/package.json).
set -eu
cd "$(dirname "$0")/.."
if ! [ -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing: chromium"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "the browser tests need Debian's chromium at /usr/bin/chromium" >&2
        exit 1
    fi
fi
if ! [ -f tests/browser/node_modules/axe-core/axe.min.js ]; then
    npm ci --prefix tests/browser --no-audit --no-fund --silent
fi
