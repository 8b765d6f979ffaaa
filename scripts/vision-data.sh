#!/usr/bin/env sh
# The real image sets Debian ships (src/data/vision-sets.ts), extracted into data/debian without
# installing anything: python3-sklearn's 8x8 digits and dataset-fashion-mnist's IDX files.
set -eu
cd "$(dirname "$0")/.."
out=data/debian
if [ -f "$out/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz" ] &&
  [ -f "$out/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz" ]; then
  echo "vision-data: already in $out"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "vision-data: needs apt-get (Debian or Ubuntu) to fetch python3-sklearn and dataset-fashion-mnist"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q python3-sklearn dataset-fashion-mnist >/dev/null 2>&1) ||
  { echo "vision-data: apt-get download python3-sklearn dataset-fashion-mnist failed (run apt-get update first?)"; exit 1; }
mkdir -p "$out"
for deb in "$tmp"/*.deb; do
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$out" --wildcards './usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz' \
    './usr/share/datasets/fashion-mnist/*' 2>/dev/null || true
done
echo "vision-data: digits and Fashion-MNIST in $out"
