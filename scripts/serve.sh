#!/usr/bin/env bash
# Builds the site with Trunk and serves it on http://127.0.0.1:8080: the scenarios page (rebuilt
# on change) and the calculators at /calc/ (built once at start; rerun after changing calc-page/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
(cd calc-page && trunk build --release)
exec trunk serve --release --address 127.0.0.1 --port "${PORT:-8080}"
