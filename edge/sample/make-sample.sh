#!/usr/bin/env bash
# Rebuilds the bundled sample photos (edge/sample/photos) from Debian wallpaper packages.
# Needs apt-get (download only), dpkg, libjpeg-turbo-progs (djpeg/cjpeg/jpegtran) and python3.
# Usage: bash edge/sample/make-sample.sh     — the output is committed; run this only to change it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/photos"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download mate-backgrounds plasma-workspace-wallpapers >/dev/null
for d in ./*.deb; do dpkg -x "$d" x; done
w=x/usr/share/wallpapers; m=x/usr/share/backgrounds/mate/nature
rm -rf "$out"; mkdir -p "$out/nature"
# shrink SRC SCALE(M/8) QUALITY OUT — DCT-domain downscale, then a fresh baseline encode, no metadata.
shrink() { djpeg -scale "$2" -dct float "$1" | cjpeg -quality "$3" -optimize -outfile "$4"; }
shrink "$w/ColorfulCups/contents/images/2560x1600.jpg" 5/8 85 "$out/cups.jpg"
shrink "$w/BytheWater/contents/images/2560x1600.jpg" 5/8 85 "$out/by-the-water.jpg"
shrink "$m/Storm.jpg" 6/8 85 "$out/storm.jpg"
# A phone-style photo: pixels stored rotated 90° counter-clockwise, with EXIF Orientation = 6
# ("rotate 90° clockwise to display"), so a viewer that ignores EXIF shows it sideways.
shrink "$m/LadyBird.jpg" 5/8 85 ladybird.jpg
jpegtran -rotate 270 -copy none -outfile ladybird-rot.jpg ladybird.jpg
python3 - ladybird-rot.jpg "$out/nature/ladybird.jpg" <<'PY'
import struct, sys
src = open(sys.argv[1], "rb").read()
assert src[:2] == b"\xff\xd8"
# Big-endian TIFF, one IFD0 entry: 0x0112 Orientation, SHORT, count 1, value 6.
tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) \
     + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack(">I", 0)
exif = b"Exif\x00\x00" + tiff
app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
open(sys.argv[2], "wb").write(src[:2] + app1 + src[2:])
PY
cp x/usr/share/doc/mate-backgrounds/copyright "$here/LICENSES/mate-backgrounds.copyright" 2>/dev/null || {
  mkdir -p "$here/LICENSES"; cp x/usr/share/doc/mate-backgrounds/copyright "$here/LICENSES/mate-backgrounds.copyright"; }
cp x/usr/share/doc/plasma-workspace-wallpapers/copyright "$here/LICENSES/plasma-workspace-wallpapers.copyright"
ls -l "$out" "$out/nature"; du -sh "$out"
