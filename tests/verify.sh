#!/usr/bin/env bash
# Differential tests against mosquitto 2.0.11, live: every conformance scenario
# (tests/conformance/), every built-in a real broker can play and the random scenarios of seeds
# 1-40 are played against a private mosquitto (started by `mqtt-lab` on a free 127.0.0.1 port)
# and compared with the engine's prediction for the mosquitto-2.0.11 profile. A scenario that
# does not match is played again (three tries); the run fails only when packets differ on every
# try, and reports timing drift (a packet a step late on a busy machine) without failing.
#
# The recordings of what mosquitto's clients observed are fixtures (tests/conformance/
# *.observed.jsonl, tests/observed/): `cargo test` checks the engine against them in
# milliseconds (engine/tests/observed.rs) and checks that docs/CONFORMANCE.md is what they give.
#
#   bash tests/verify.sh            play everything live (CI)
#   bash tests/verify.sh --write    play and store the recordings, then write docs/CONFORMANCE.md,
#                                   engine/scenarios/verified.txt and the fixture index
#   bash tests/verify.sh NAME...    play just these (an id, a path, random-N)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p mqtt-lab
bin=target/debug/mqtt-lab
if [ "${1:-}" = "--write" ]; then
  shift
  $bin conformance live --write "$@"
  $bin conformance report --write
else
  $bin conformance live "$@"
fi
