#!/usr/bin/env bash
# Same-run CPU comparison on the GPU machine's CPU (this project's machine cannot install torch): our wasm train
# step and decode (benchmarks/repeat.js) and the PyTorch anchor (benchmarks/cpu_anchor.py: mamba.py, HF generate),
# both pinned to the same two cores with taskset, one after the other. Writes $OUT/cpu-anchor-{ours,torch}.json(l).
# Usage on the GPU machine, from the project root, after pack.sh:
#   bash .device/gpu-run.sh bash benchmarks/cpuAnchor.sh ANCHORS_DIR
set -euo pipefail
anchors=$1
out=${OUT:-/tmp}
lscpu | grep -E 'Model name|^CPU\(s\)' > "$out/cpu-anchor-machine.txt" || true
taskset -c 0,1 python3 benchmarks/cpu_anchor.py "$anchors" > "$out/cpu-anchor-torch.jsonl"
taskset -c 0,1 node benchmarks/repeat.js --only step,decode --rounds 2 --out "$out/cpu-anchor-ours.json"
