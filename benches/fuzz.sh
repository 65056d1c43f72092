#!/usr/bin/env bash
# Fuzzes the decoder, --what-if and plan for a set time each (not part of CI):
#   bash benches/fuzz.sh [SECONDS_PER_TARGET]
# Needs nightly Rust and cargo-fuzz (`cargo install cargo-fuzz`). The seed corpus is every
# fixture; crashes land in fuzz/artifacts/<target>/ (each one becomes a regression test).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-300}"
for target in decode what_if plan; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  if [ "$target" = "what_if" ]; then
    printf 'namespaces.team-a.limits.memory=2Ti\nhosts[0].maintenance=true\nhosts.esx-01.cost=3\n' > "$corpus/seed"
  else
    cp ../fixtures/*.json ../fixtures/cases/*.json ../fixtures/invalid/*.json "$corpus/" 2>/dev/null || true
  fi
  echo "== $target ($seconds s)"
  cargo +nightly fuzz run "$target" "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=4096 2>&1 \
    | grep -E '^(#[0-9]+\s+(DONE|pulse)|Done|==[0-9]+== ERROR|SUMMARY)' | tail -n 3
done
