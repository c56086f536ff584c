#!/usr/bin/env bash
# Same-run CPU comparison on the GPU machine's CPU (this project's machine cannot install torch): everything pinned
# to the same two cores with taskset, one job after the other, so the machine is quiet and the anchor shares it.
#   1. benchmarks/threads.js: one thread vs every core (of the two), train step, interleaved processes
#   2. benchmarks/cpu_anchor.py: PyTorch (mamba.py train step, HF greedy decode) at 1 and 2 threads
#   3. benchmarks/repeat.js: our wasm train step (b) and decode at mamba-130m shapes, 2 rounds
#   4. benchmarks/decode.js: float32 vs int8 decode, alternating rounds, with the bandwidth limit
#   5. benchmarks/mamba2Step.js: Mamba-2 train step beside Mamba-1
# Writes $OUT/cpu-*.json(l). Usage on the GPU machine, from the project root, after pack.sh:
#   bash .device/gpu-run.sh bash benchmarks/cpuAnchor.sh ANCHORS_DIR
set -uo pipefail
anchors=$1
out=${OUT:-/tmp}
pin="taskset -c 0,1"
{ lscpu | grep -E 'Model name|^CPU\(s\)'; date -u; } > "$out/cpu-machine.txt"
$pin timeout 120 node benchmarks/threads.js --pairs 2 --steps 5 > "$out/cpu-threads.txt" 2>&1
cp benchmarks/results/threads.json "$out/cpu-threads.json" 2>/dev/null
$pin timeout 110 python3 benchmarks/cpu_anchor.py "$anchors" > "$out/cpu-torch.jsonl" 2> "$out/cpu-torch.err"
MAMBA_TFJS_THREADS=1 $pin timeout 100 node benchmarks/repeat.js --only step,decode --rounds 2 --out "$out/cpu-ours.json" 2> "$out/cpu-ours.err"
MAMBA_TFJS_THREADS=1 $pin timeout 80 node benchmarks/decode.js --backends wasm --batches 1 --dtypes float32,int8 --new 24 --rounds 2 > "$out/cpu-int8.json" 2> "$out/cpu-int8.err"
MAMBA_TFJS_THREADS=1 $pin timeout 60 node benchmarks/mamba2Step.js --backend wasm --out "$out/cpu-mamba2-step-wasm.json" 2> "$out/cpu-mamba2.err"
echo done >> "$out/cpu-machine.txt"
