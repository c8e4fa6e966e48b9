#!/usr/bin/env bash
# The README's performance table in one run: this project's training step (`experiments bench`)
# and the same step in PyTorch (scripts/pytorch_step.py) on the same machine, one after the
# other, into one CSV.
#
#   scripts/bench.sh [OUT.csv] [extra flags for `experiments bench`]
#
# Default OUT: docs/bench/cpu-<date>.csv. PyTorch is installed into .venv-bench/ from PyPI on
# first use. Environment: WIDTHS (default 1000,10000,100000), INPUT_DIMS (784,3072), SECONDS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/bench/cpu-$(date +%F).csv}"
shift || true
widths="${WIDTHS:-1000,10000,100000}"
dims="${INPUT_DIMS:-784,3072}"
seconds="${SECONDS_PER_CASE:-2}"

cargo build --release -q -p experiments
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q -r scripts/bench-requirements.txt
fi
mkdir -p "$(dirname "$out")"
rust_csv="$(mktemp)"
torch_csv="$(mktemp)"
trap 'rm -f "$rust_csv" "$torch_csv" "$rust_csv.case" "$torch_csv.case"' EXIT

# One case at a time, this project then PyTorch, so that both sides of each comparison run in
# the same minute (the throughput of a shared machine drifts over a run).
IFS=, read -r -a width_list <<< "$widths"
IFS=, read -r -a dim_list <<< "$dims"
first=1
for p in "${dim_list[@]}"; do
  for n in "${width_list[@]}"; do
    echo "== p = $p, N = $n: this project (experiments bench), then PyTorch ==" >&2
    ./target/release/experiments bench --widths "$n" --input-dims "$p" \
      --seconds "$seconds" "$@" > "$rust_csv.case"
    .venv-bench/bin/python scripts/pytorch_step.py --widths "$n" --input-dims "$p" \
      --seconds "$seconds" > "$torch_csv.case"
    if [ "$first" = 1 ]; then head -n 1 "$rust_csv.case" > "$rust_csv"; first=0; fi
    tail -n +2 "$rust_csv.case" >> "$rust_csv"
    tail -n +2 "$torch_csv.case" >> "$torch_csv"
  done
done
rm -f "$rust_csv.case" "$torch_csv.case"

{ cat "$rust_csv"; cat "$torch_csv"; } > "$out"
echo "wrote $out" >&2
# A side-by-side view: ms per step for each case, and PyTorch autograd / best of this project.
python3 - "$out" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cases = sorted({(int(r["input_dim"]), int(r["width"])) for r in rows})
variants = []
for r in rows:
    v = (r["backend"], r["engine"])
    if v not in variants:
        variants.append(v)
print("| p | N | " + " | ".join(f"{b} {e}" for b, e in variants) + " | PyTorch autograd / best of this project |")
print("|---:|---:|" + "---:|" * len(variants) + "---:|")
for p, n in cases:
    ms = {}
    for r in rows:
        if int(r["input_dim"]) == p and int(r["width"]) == n:
            ms[(r["backend"], r["engine"])] = (float(r["ms_per_step"]), float(r["fraction_of_peak"]))
    cells = [f"{ms[v][0]:.1f} ms ({ms[v][1]:.2f})" if v in ms else "—" for v in variants]
    ours = [ms[v][0] for v in variants if v in ms and v[0] != "pytorch"]
    torch_ms = ms.get(("pytorch", "autograd"), (None,))[0]
    ratio = f"{torch_ms / min(ours):.2f}" if ours and torch_ms else "—"
    print(f"| {p} | {n} | " + " | ".join(cells) + f" | {ratio} |")
PY
