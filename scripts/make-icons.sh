#!/usr/bin/env bash
# Renders resources/icons/icon.svg into the icon files electron-builder packs (electron-builder.yml):
# png/<N>x<N>.png (Linux), icon.ico (Windows), icon.icns (macOS). The outputs are committed; rerun
# after changing the SVG. Needs Debian's librsvg2-bin (rsvg-convert), icoutils (icotool) and
# icnsutils (png2icns).
set -euo pipefail
cd "$(dirname "$0")/../resources/icons"

rm -rf png && mkdir png
for n in 16 24 32 48 64 128 256 512 1024; do
  rsvg-convert -w "$n" -h "$n" icon.svg -o "png/${n}x${n}.png"
done
# 256x256 stored as PNG (Windows Vista and later), the small sizes as bitmaps
icotool -c -o icon.ico png/{16x16,24x24,32x32,48x48,64x64,128x128}.png -r png/256x256.png
png2icns icon.icns png/{16x16,32x32,48x48,128x128,256x256,512x512,1024x1024}.png >/dev/null
