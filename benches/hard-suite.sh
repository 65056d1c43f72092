#!/usr/bin/env bash
# The hard suite, vksplan and the CP-SAT peer side by side, one run each.
#   bash benches/hard-suite.sh [OUT_DIR] [TIME_LIMIT_S] [PLATFORM...]
# Writes the platforms (examples/hard_suite.rs) to OUT_DIR, then for each platform runs
# `vksplan plan` and `../shared/peer/run` (2 workers) with the same time limit, one after the
# other, and prints one line per run: platform, engine, status, the value of each objective
# step, step-4 bound and gap, wall time, peak memory. Raw plans stay in OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/hard-suite}"
limit="${2:-60}"
shift $(( $# > 2 ? 2 : $# )) || true
cargo build --release -q --bin vksplan --example hard_suite
./target/release/examples/hard_suite "$out" >/dev/null
peer="${VKSPLAN_PEER:-../shared/peer/run}"
# The peer runs two CP-SAT workers (the machine's two cores); vksplan its default one thread
# (VKSPLAN_THREADS=2 races two seeded HiGHS instances of the whole model).
threads="${VKSPLAN_THREADS:-1}"
platforms=("$@")
if [ ${#platforms[@]} -eq 0 ]; then
  platforms=($(ls "$out"/*.json | grep -v '\.plan\.' | xargs -n1 basename | sed 's/\.json$//'))
fi
summary() {  # summary ENGINE PLATFORM PLAN_FILE WALL MAXRSS_KIB
  python3 - "$@" <<'PY'
import json, sys
engine, platform, path, wall, rss = sys.argv[1:6]
text = open(path).read()
text = "\n".join(l for l in text.splitlines() if not l.startswith("#"))
try:
    plan = json.loads(text)
except Exception:
    print(f"{platform}\t{engine}\tno-plan\t-\t-\t-\t-\t-\t-\t-\t{wall}\t{int(rss)//1024}")
    sys.exit(0)
o = plan.get("objective") or {}
step4 = o.get("max_utilization") if plan.get("objective") is not None else None
fields = [platform, engine, plan.get("status"), len(plan.get("rejected", [])), o.get("priority_admitted"),
          o.get("soft_rules_broken"), o.get("migrations"), o.get("max_utilization"), o.get("cost"),
          o.get("spread"), f'{o.get("bound")}/{o.get("gap")}', wall, int(rss) // 1024]
print("\t".join(str(f) for f in fields))
PY
}
printf 'platform\tengine\tstatus\trejected\tpriority\tsoft\tmigrations\tpeak\tcost\tspread\tbound/gap\twall_s\tmax_rss_mib\n'
for name in "${platforms[@]}"; do
  file="$out/$name.json"
  /usr/bin/time -f '%e %M' -o "$out/$name.vksplan.time" ./target/release/vksplan plan "$file" --time-limit "$limit" --threads "$threads" > "$out/$name.plan.vksplan.json" 2>"$out/$name.vksplan.err" || true
  read -r wall rss < <(tail -n 1 "$out/$name.vksplan.time")
  summary vksplan "$name" "$out/$name.plan.vksplan.json" "$wall" "$rss"
  if [ -x "$peer" ] && [ -z "${VKSPLAN_NO_PEER:-}" ]; then
    /usr/bin/time -f '%e %M' -o "$out/$name.peer.time" "$peer" "$file" --time-limit "$limit" --workers 2 > "$out/$name.plan.peer.json" 2>"$out/$name.peer.err" || true
    read -r wall rss < <(tail -n 1 "$out/$name.peer.time")
    summary peer "$name" "$out/$name.plan.peer.json" "$wall" "$rss"
  fi
done
