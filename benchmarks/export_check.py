#!/usr/bin/env python3
"""Loads every export made by benchmarks/exportCheck.js with HF transformers and compares its logits.

    python3 benchmarks/export_check.py scratch/export-check

For each case directory: MambaForCausalLM.from_pretrained(case/hf) in float64 on CPU, logits for the case's
input ids, max |diff| against the logits of our tfjs model (and, for fixtures, against the fixture's reference
logits). Passes when every diff is under 1e-4. Writes result.json beside the cases; exit code 1 on a failure.
Needs torch and transformers (the GPU machine has them; this project's machine does not).
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from transformers import MambaForCausalLM

TOL = 1e-4


def max_diff(ours, theirs):
    v = min(ours.shape[-1], theirs.shape[-1])
    return float(np.abs(ours[..., :v] - theirs[..., :v]).max())


def check(case_dir):
    case = json.load(open(os.path.join(case_dir, "case.json")))
    model = MambaForCausalLM.from_pretrained(os.path.join(case_dir, "hf")).double().eval()
    ids = torch.tensor(case["input_ids"], dtype=torch.long)
    with torch.no_grad():
        hf = model(ids).logits.numpy()  # (B, L, V)
    row = {"case": os.path.basename(case_dir), "hf_vocab": int(hf.shape[-1])}
    ours = np.array(case["logits"]["data"], dtype=np.float64).reshape(case["logits"]["shape"])
    row["vs_tfjs"] = max_diff(ours, hf)
    if "reference_logits" in case:
        ref = np.array(case["reference_logits"]["data"], dtype=np.float64).reshape(case["reference_logits"]["shape"])
        row["vs_reference"] = max_diff(ref, hf)
    row["pass"] = all(row[k] < TOL for k in ("vs_tfjs", "vs_reference") if k in row)
    return row


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "scratch/export-check"
    cases = sorted(d for d in os.listdir(root) if os.path.exists(os.path.join(root, d, "case.json")))
    rows = []
    for name in cases:
        try:
            row = check(os.path.join(root, name))
        except Exception as e:  # record and go on: one broken export must not hide the others
            row = {"case": name, "pass": False, "error": f"{type(e).__name__}: {e}"}
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"torch": torch.__version__, "transformers": transformers.__version__, "tolerance": TOL, "rows": rows}
    with open(os.path.join(root, "result.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))
    sys.exit(0 if rows and all(r["pass"] for r in rows) else 1)


if __name__ == "__main__":
    main()
