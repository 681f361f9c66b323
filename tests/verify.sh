#!/usr/bin/env bash
# Differential tests: every built-in scenario a real broker can play is played against mosquitto
# 2.0.11 (started by `mqtt-lab verify` itself on a free 127.0.0.1 port) and compared with the
# engine's prediction. Exit 0: all expressible scenarios match. Prints the counts.
set -uo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p mqtt-lab
bin=target/debug/mqtt-lab
match=0; differ=0; skipped=0
for id in $($bin list | awk '{print $1}'); do
  out=$($bin verify "$id" 2>&1); rc=$?
  case $rc in
    0) match=$((match + 1)); echo "match        $id" ;;
    2) skipped=$((skipped + 1)); echo "not played   $id: ${out##*: not expressible against a real broker: }" ;;
    *) differ=$((differ + 1)); echo "DIFFERS      $id"; echo "$out" ;;
  esac
done
echo "mosquitto differential: $match match, $differ differ, $skipped not expressible in real time yet"
[ "$differ" -eq 0 ]
