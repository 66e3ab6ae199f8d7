#!/bin/sh
# System packages idsvc needs beyond Python: Noto fonts that cover Latin, Cyrillic,
# Arabic, Bengali and CJK names on printed cards. Installed with apt-get when missing.
set -eu
need=""
[ -f /usr/share/fonts/truetype/noto/NotoSansBengali-Regular.ttf ] || need="$need fonts-noto-core"
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need="$need fonts-noto-cjk"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing:$need"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
else
    echo "idsvc needs these fonts for card printing:$need (or set IDSVC_FONTS_DIR)" >&2
    exit 1
fi
