#!/usr/bin/env bash
# Builds the site into dist/: the calculators page (calc-page/, into target/site/calc) first,
# then the scenarios page, whose Trunk build copies the calculators to dist/calc/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
(cd calc-page && trunk build --release)
trunk build --release
