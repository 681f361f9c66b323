#!/usr/bin/env bash
# Installs what building and testing MQTT Session Lab needs, skipping what is already there at the
# right version (see shared TOOLCHAIN notes: only crates.io, npm, PyPI and Debian are reachable).
set -euo pipefail
cd "$(dirname "$0")/.."

need_browser="${1:-}"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt

if ! trunk --version 2>/dev/null | grep -q ' 0\.21\.'; then
  log "installing Trunk 0.21 (about 9 minutes on 2 cores)"
  cargo install trunk --version '~0.21' --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen version in Cargo.lock exactly.
wbg=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  log "installing wasm-bindgen-cli $wbg (about 4 minutes)"
  # No --locked: its lockfile pins a crate the registry snapshot lacks.
  cargo install wasm-bindgen-cli --version "=$wbg" --force
fi

# wasm-opt from npm's binaryen (Debian's 108 is too old for current wasm-bindgen output).
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ] || [ ! -d node_modules/mqtt-packet ]; then
  log "installing npm packages (binaryen, playwright-core, axe-core, mqtt-packet)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The real broker of the differential tests (never run as a system service: policy-rc.d keeps
# the package from starting it; `mqtt-lab verify` starts its own on a free port).
if [ "$need_browser" = "--browser" ] && [ ! -x /usr/sbin/mosquitto ]; then
  log "installing Debian mosquitto (2.0.11) without starting its service"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >/dev/null
  [ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi

if [ "$need_browser" = "--browser" ]; then
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    log "installing Debian chromium and chromium-driver"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi
log "toolchain ready"
