#!/usr/bin/env bash
# The upgrade benchmark: the full upgrade (every cluster one minor version up, the Supervisor
# rolled, every host patched) of the hard suite's upgrade platforms, one run each.
#   bash benches/upgrade.sh [OUT_DIR]
# u96-gpu: 96 hosts with GPU hosts, 2 in maintenance at a time, `--time-limit 10`.
# u288-zones: 3 zones x 96 hosts, 3 in maintenance at a time, `--time-limit 60`.
# Prints one line per platform: status, upgrade status, waves, lower bound, migrations,
# wall time (placement + sequence + replay, the whole process) and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/upgrade-bench}"
cargo build --release -q --bin vksplan --example hard_suite
./target/release/examples/hard_suite "$out" >/dev/null
printf 'platform\tlimit_s\tstatus\tupgrade\twaves\tlower_bound\tmigrations\twall_s\tmax_rss_mib\n'
for run in "u96-gpu 10" "u288-zones 60"; do
  read -r name limit <<<"$run"
  /usr/bin/time -f '%e %M' -o "$out/$name.time" ./target/release/vksplan plan "$out/$name.json" \
    --time-limit "$limit" > "$out/$name.plan.json" 2>"$out/$name.err" || true
  read -r wall rss < <(tail -n 1 "$out/$name.time")
  python3 - "$name" "$limit" "$out/$name.plan.json" "$wall" "$rss" <<'PY'
import json, sys
name, limit, path, wall, rss = sys.argv[1:6]
try:
    plan = json.load(open(path))
except Exception:
    print(f"{name}\t{limit}\tno-plan\t-\t-\t-\t-\t{wall}\t{int(rss)//1024}")
    sys.exit(0)
upgrade = plan.get("upgrade") or {}
waves = upgrade.get("waves") or []
migrations = sum(1 for wave in waves for op in wave if op.get("op") == "migrate")
print("\t".join(str(f) for f in [name, limit, plan.get("status"), upgrade.get("status"), len(waves),
      upgrade.get("lower_bound_waves"), migrations, wall, int(rss) // 1024]))
PY
done
