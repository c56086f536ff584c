# The PyTorch side of the CPU comparisons: mamba.py (its parallel scan) train step and HF transformers' greedy
# decode, on the CPU, at the README's CPU benchmark sizes, with 1 and with 2 torch threads. This project's machine
# has no PyPI (no torch), so it runs on the GPU machine's CPU, pinned with `taskset -c 0,1` to two cores, in the same
# device call as our own CPU benchmarks on the same two cores (benchmarks/cpuAnchor.sh does both).
# Prints one JSON object per line.
# Usage: python3 benchmarks/cpu_anchor.py ANCHORS_DIR   (ANCHORS_DIR holds mamba.py's package `mambapy`)
import json, os, statistics, sys, time

sys.path.insert(0, sys.argv[1])
import torch
from mambapy.mamba import Mamba, MambaConfig as PyConfig
from transformers import MambaConfig, MambaForCausalLM


def emit(**k):
    print(json.dumps(k), flush=True)


emit(torch=torch.__version__, cpus=os.sched_getaffinity(0).__len__())
for threads in (1, 2):
    torch.set_num_threads(threads)
    # Train step as benchmark (b): Mamba(dModel 64, 2 layers, dState 16), B 4, mean-square loss, Adam.
    for length in (256, 1024):
        torch.manual_seed(0)
        m = Mamba(PyConfig(d_model=64, n_layers=2, d_state=16, pscan=True))
        opt = torch.optim.Adam(m.parameters(), 1e-3)
        x = torch.randn(4, length, 64)

        def step():
            opt.zero_grad()
            m(x).pow(2).mean().backward()
            opt.step()

        step()
        times = []
        for _ in range(10):
            t = time.perf_counter()
            step()
            times.append((time.perf_counter() - t) * 1000)
        emit(bench='train-step', threads=threads, d_model=64, layers=2, batch=4, length=length,
             ms_median=statistics.median(times), ms_min=min(times), ms_max=max(times))
    # Greedy decode, mamba-130m shapes (random weights), prompt 8, 32 new tokens, prefill subtracted.
    torch.manual_seed(0)
    hm = MambaForCausalLM(MambaConfig(vocab_size=50280, hidden_size=768, num_hidden_layers=24, state_size=16)).eval()
    for batch in (1, 8):
        ids = torch.randint(0, 50280, (batch, 8))
        with torch.no_grad():
            hm.generate(ids, max_new_tokens=2, do_sample=False)

            def run(n):
                t = time.perf_counter()
                hm.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False)
                return time.perf_counter() - t

            t1, t33 = run(1), run(33)
        emit(bench='decode', threads=threads, d_model=768, layers=24, batch=batch, tokens_per_s=32 * batch / (t33 - t1))
    del hm
