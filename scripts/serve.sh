#!/usr/bin/env bash
# Builds the page with Trunk and serves it on http://127.0.0.1:8080 (rebuilds on change).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
exec trunk serve --release --address 127.0.0.1 --port "${PORT:-8080}"
