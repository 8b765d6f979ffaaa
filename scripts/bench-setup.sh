#!/bin/sh
# Installs everything the benchmarks in bench/ compare against or read (`npm run bench:setup`):
# PyTorch with OpenBLAS (bench:train, bench:quality; without libopenblas0-pthread PyTorch uses the
# reference BLAS, 50x slower), numpy (bench:kernels), the text the corpora are built from
# (bench:train and bench:quality read fortunes, dict-devil and dict-jargon; bench:tokenizer the
# man pages; bench:app drives chromium). node-llama-cpp (bench:decode) is an optional npm dependency that npm ci installs.
set -eu
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# --no-remove: apt must never take Node.js away to satisfy one of these (see install-corpus-sources.sh).
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends --no-remove \
  python3-torch libopenblas0-pthread python3-numpy \
  fortunes fortunes-min dict-devil dict-jargon manpages man-db chromium
if node -e "require.resolve('node-llama-cpp')" 2>/dev/null; then echo "bench:setup: node-llama-cpp present"; else
  echo "bench:setup: node-llama-cpp is missing (an optional dependency): run npm ci on a machine where it installs"; fi
echo "bench:setup: done"
