#!/usr/bin/env bash
# One run per size of the `scale` example, with peak memory: the numbers of BENCHMARKS.md's
# scale table. Usage: bash benches/scale.sh > scale.log
set -u
cd "$(dirname "$0")/.."
cargo build --release --example scale -q
run() { /usr/bin/time -f "peak_rss_kib=%M" target/release/examples/scale "$@" 2>&1 | tr '\n' ' '; echo; }
for hard in "" "--hard"; do
  for size in "8 100" "32 500" "96 3000" "288 10000 --zones"; do
    run $size $hard --time-limit 60
    run $size $hard --time-limit 60 --first
  done
done
run 32 500 --upgrade --time-limit 60
run 32 500 --upgrade --hard --time-limit 60
