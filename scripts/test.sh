#!/usr/bin/env bash
# Runs every check and test: the same command CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export PATH="$PWD/node_modules/.bin:$PATH"
export CHROMEDRIVER=/usr/bin/chromedriver

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "clippy (native)"
cargo clippy --workspace --all-targets -- -D warnings

step "clippy (wasm32)"
cargo clippy -p session-engine -p mqtt-session-lab -p mqtt-calc -p mqtt-calc-page --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p mqtt-session-lab --target wasm32-unknown-unknown --test components -- -D warnings

step "native tests"
cargo test --workspace

step "engine tests on wasm32 in headless Chromium"
cargo test -p session-engine --target wasm32-unknown-unknown

step "page component tests on wasm32 in headless Chromium"
cargo test -p mqtt-session-lab --target wasm32-unknown-unknown --test components

step "scenario files"
cargo run -q -p mqtt-lab -- check engine/scenarios/*.json docs/examples/*.json tests/conformance/*.json

step "codec against npm mqtt-packet 9.0.2, both directions (docs/CODEC-CROSSCHECK.md)"
cargo build -q -p mqtt-lab
node tests/mqtt-packet/crosscheck.mjs target/debug/mqtt-lab

step "differential tests against a real mosquitto 2.0.11"
bash tests/verify.sh

step "trunk build --release (calculators page, then the scenarios page)"
bash scripts/build.sh

step "page size budgets (455 KB gzip each)"
node tests/e2e/budget.mjs dist
node tests/e2e/budget.mjs dist/calc

step "end-to-end tests of the built page in headless Chromium (Playwright, axe-core)"
node tests/e2e/page.mjs
node tests/e2e/calc.mjs

echo
echo "all checks passed"
