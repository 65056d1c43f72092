#!/usr/bin/env bash
# How much a platform's times owe to the solvers' luck: vksplan and the CP-SAT peer, each with
# random seeds 0..N-1 (HiGHS's through VKSPLAN_HIGHS_SEED, the two raced instances taking seeds
# N and N+1; CP-SAT's through --cpsat-param random_seed), one after the other, on platforms the
# hard suite wrote.
#   bash benches/seeds.sh PLATFORM_DIR SEEDS TIME_LIMIT_S PLATFORM...
# Prints one line per run: platform, engine, seed, status, spread, wall seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$1"
seeds="$2"
limit="$3"
shift 3
peer="${VKSPLAN_PEER:-../shared/peer/run}"
# The peer runs two CP-SAT workers (the machine's two cores); vksplan its default one thread
# (VKSPLAN_THREADS=2 races two seeded HiGHS instances of the whole model).
threads="${VKSPLAN_THREADS:-1}"
cargo build --release -q --bin vksplan
row() {  # row PLATFORM ENGINE SEED PLAN_FILE WALL
  python3 - "$@" <<'PY'
import json, sys
platform, engine, seed, path, wall = sys.argv[1:6]
text = "\n".join(l for l in open(path).read().splitlines() if not l.startswith("#"))
try:
    plan = json.loads(text)
except Exception:
    print(f"{platform}\t{engine}\t{seed}\tno-plan\t-\t{wall}")
    sys.exit(0)
o = plan.get("objective") or {}
print(f"{platform}\t{engine}\t{seed}\t{plan.get('status')}\t{o.get('spread')}\t{wall}")
PY
}
printf 'platform\tengine\tseed\tstatus\tspread\twall_s\n'
for name in "$@"; do
  file="$dir/$name.json"
  for seed in $(seq 0 $((seeds - 1))); do
    /usr/bin/time -f '%e' -o /tmp/seeds.time env VKSPLAN_HIGHS_SEED="$seed" \
      ./target/release/vksplan plan "$file" --time-limit "$limit" --threads "$threads" > /tmp/seeds.plan.json 2>/dev/null || true
    row "$name" vksplan "$seed" /tmp/seeds.plan.json "$(tail -n 1 /tmp/seeds.time)"
    /usr/bin/time -f '%e' -o /tmp/seeds.time "$peer" "$file" --time-limit "$limit" --workers 2 \
      --cpsat-param "random_seed=$seed" > /tmp/seeds.plan.json 2>/dev/null || true
    row "$name" peer "$seed" /tmp/seeds.plan.json "$(tail -n 1 /tmp/seeds.time)"
  done
done
