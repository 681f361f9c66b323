#!/usr/bin/env bash
# Builds the page and the bare Leptos counter baseline, then runs the page benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export PATH="$PWD/node_modules/.bin:$PATH"
trunk build --release
cp Cargo.lock bench/counter/Cargo.lock
(cd bench/counter && CARGO_TARGET_DIR="$PWD/../../target/bench-counter" trunk build --release)
node scripts/bench-page.mjs
