#!/usr/bin/env bash
# GPU check, ready to run on a machine with a GPU (docs/performance.md, "GPU"): builds with
# wgpu, reports the adapter, runs the wgpu agreement test, times the training step on wgpu next
# to Flex at N = 10^4, 10^5, 10^6 (p = 784 and 3072), and times Figure 1's limit run (N = 50000,
# β = 0.25) for a few thousand steps to project the full 334,370-step run. Writes one CSV,
# $OUT/gpu-check.csv (a row per measurement: `measure` is `step` for the bench rows and
# `limit-run` for the timed limit run, which also fills `horizon_steps` and `projected_hours`),
# and prints it as a table.
#
# Settings (environment): GPU_CHECK_OUT (gpu-check), GPU_CHECK_FEATURES (wgpu; empty: CPU only),
# GPU_CHECK_BACKENDS (flex,wgpu), GPU_CHECK_WIDTHS (10000,100000,1000000),
# GPU_CHECK_INPUT_DIMS (784,3072), GPU_CHECK_LIMIT_STEPS (2000).
# Tried on this project's CPU machine only (GPU_CHECK_FEATURES= GPU_CHECK_BACKENDS=flex and
# small sizes): no GPU has been lent to it yet.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${GPU_CHECK_OUT:-gpu-check}
features=${GPU_CHECK_FEATURES-wgpu}
backends=${GPU_CHECK_BACKENDS:-flex,wgpu}
widths=${GPU_CHECK_WIDTHS:-10000,100000,1000000}
dims=${GPU_CHECK_INPUT_DIMS:-784,3072}
limit_steps=${GPU_CHECK_LIMIT_STEPS:-2000}
mkdir -p "$out"
start=$(date +%s)
say() { echo "==> [$(( $(date +%s) - start ))s] $*"; }

say "build (features: ${features:-none})"
feature_flags=()
if [[ -n $features ]]; then feature_flags=(--features "$features"); fi
cargo build --release -q -p experiments "${feature_flags[@]}"
bin=target/release/experiments

say "adapter"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
fi
if command -v vulkaninfo >/dev/null; then vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|driverName' || true; fi

if [[ $features == *wgpu* ]]; then
  say "wgpu agreement test (Flex and wgpu train the same run, weights compared)"
  cargo test --release -q -p meanfield-train --features wgpu --test gpu
fi

say "data"
"$bin" fetch mnist

say "training step per backend (bench)"
parts=$(mktemp -d)
trap 'rm -rf "$parts"' EXIT
"$bin" bench --backends "$backends" --engines closed-form --widths "$widths" \
  --input-dims "$dims" --seconds 2 --csv "$parts/steps.csv"

say "Figure 1's limit run: N = 50000, beta = 0.25, $limit_steps steps per backend"
for backend in ${backends//,/ }; do
  # Evaluation on a subset and a batch-loss read every 100 steps only: the step is timed.
  "$bin" mnist --width 50000 --beta 0.25 --steps "$limit_steps" --backend "$backend" \
    --checkpoint-every 0 --log-every 100 --train-subset 10000 --test-subset 1000 \
    --out "$parts/limit-$backend" --force --quiet > "$parts/limit-$backend.json"
done

say "results"
python3 - "$parts" "$out/gpu-check.csv" ${backends//,/ } <<'PY'
import csv, json, sys
parts, target, backends = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [dict(r, measure="step") for r in csv.DictReader(open(f"{parts}/steps.csv"))]
for backend in backends:
    s = json.load(open(f"{parts}/limit-{backend}.json"))
    rate = s["steps_per_second"]
    rows.append({"measure": "limit-run", "backend": backend, "engine": s["engine"],
                 "width": s["width"], "input_dim": 784, "batch": s["batch"],
                 "iterations": s["steps"], "ms_per_step": f"{1000 / rate:.3f}",
                 "steps_per_s": f"{rate:.3f}", "horizon_steps": s["horizon_steps"],
                 "projected_hours": f'{s["horizon_steps"] / rate / 3600:.2f}'})
fields = ["measure"] + [k for k in rows[0] if k != "measure"] + ["horizon_steps", "projected_hours"]
with open(target, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields, restval="")
    w.writeheader()
    w.writerows(rows)
PY
column -s, -t < "$out/gpu-check.csv" 2>/dev/null || cat "$out/gpu-check.csv"
say "done: $out/gpu-check.csv"
