#!/usr/bin/env bash
# Fuzzes the decoder, --what-if and plan for a set time each (not part of CI):
#   bash benches/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# TARGET is decode, what_if or plan (all three by default). Needs nightly Rust and cargo-fuzz
# (`cargo install cargo-fuzz`). The seed corpus is every fixture; crashes land in
# fuzz/artifacts/<target>/ (each one becomes a regression test). The full libFuzzer log of each
# target goes to fuzz/logs/<target>.log; the script prints its last status line (`#RUNS ...`)
# and any crash summary. No sanitizer: the workspace forbids unsafe code, and AddressSanitizer
# refuses to start once HiGHS's C++ runtime is loaded before it (the plan target).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-300}"
shift $(( $# > 0 ? 1 : 0 ))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(decode what_if plan); fi
mkdir -p logs
for target in "${targets[@]}"; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  if [ "$target" = "what_if" ]; then
    printf 'namespaces.team-a.limits.memory=2Ti\nhosts[0].maintenance=true\nhosts.esx-01.cost=3\n' > "$corpus/seed"
  else
    cp ../fixtures/*.json ../fixtures/cases/*.json ../fixtures/invalid/*.json "$corpus/" 2>/dev/null || true
  fi
  echo "== $target ($seconds s)"
  status=0
  cargo +nightly fuzz run --sanitizer none "$target" "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=4096 \
    > "logs/$target.log" 2>&1 || status=$?
  grep -aE '^#[0-9]+' "logs/$target.log" | tail -n 1 || true
  grep -aE '^(==[0-9]+== ERROR|SUMMARY|Done [0-9]+ runs)' "logs/$target.log" | tail -n 3 || true
  echo "exit $status"
done
