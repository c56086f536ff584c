#!/usr/bin/env bash
# The default thread count against PyTorch and against fixed counts, on the GPU machine's CPU pinned to two cores
# (taskset -c 0,1), one job after the other (README, "Against PyTorch on the same CPU" and "Decoding on both cores"):
#   1. benchmarks/threads.js, tf.train.adam and FlatAdam: one thread against every core, train step (b)
#   2. benchmarks/cpu_anchor.py: PyTorch (mamba.py train step, HF greedy decode) at 1 and 2 threads
#   3. benchmarks/decode.js with MAMBA_TFJS_WASM_THREADS unset (auto), twice
#   4. decode, the default against 1 thread, alternating, 3 rounds; then with core 1 held by a spinning process,
#      the default against 2 threads, 2 rounds
# Writes $OUT/cpu-threads-anchor.tgz. Usage on the GPU machine, from the project root, after pack.sh:
#   bash .device/gpu-run.sh bash benchmarks/cpuThreadsAnchor.sh ANCHORS_DIR
set -u
anchors=$1
R=${OUT:-/tmp}/r; mkdir -p "$R"
P="taskset -c 0,1"
{ lscpu | grep -E 'Model name|^CPU\(s\)'; date -u; cat /proc/loadavg; } > "$R/machine.txt"
$P timeout 170 node benchmarks/threads.js --pairs 3 --steps 5 --out "$R/threads-adam.json" > "$R/threads-adam.txt" 2>&1
$P timeout 170 node benchmarks/threads.js --pairs 3 --steps 5 --optimizer flatAdam --out "$R/threads-flat.json" > "$R/threads-flat.txt" 2>&1
$P timeout 150 python3 benchmarks/cpu_anchor.py "$anchors" > "$R/torch.jsonl" 2> "$R/torch.err"
dec() { timeout 170 taskset -c 0,1 node benchmarks/decode.js --backends wasm --batches 1 --dtypes float32,int8 --rounds 1 --new 24; }
for i in 1 2; do env -u MAMBA_TFJS_WASM_THREADS bash -c "$(declare -f dec); dec" > "$R/dec$i.json" 2> "$R/dec$i.err"; done
for i in 1 2 3; do
  env -u MAMBA_TFJS_WASM_THREADS bash -c "$(declare -f dec); dec" > "$R/q$i-default.json" 2> "$R/q$i-default.err"
  MAMBA_TFJS_WASM_THREADS=1 bash -c "$(declare -f dec); dec" > "$R/q$i-1.json" 2> "$R/q$i-1.err"
done
taskset -c 1 node -e 'for(;;){}' & spin=$!
sleep 1
for i in 1 2; do
  env -u MAMBA_TFJS_WASM_THREADS bash -c "$(declare -f dec); dec" > "$R/b$i-default.json" 2> "$R/b$i-default.err"
  MAMBA_TFJS_WASM_THREADS=2 bash -c "$(declare -f dec); dec" > "$R/b$i-2.json" 2> "$R/b$i-2.err"
done
kill $spin
cat /proc/loadavg >> "$R/machine.txt"
tar czf "${OUT:-/tmp}/cpu-threads-anchor.tgz" -C "$(dirname "$R")" r && rm -rf "$R"
