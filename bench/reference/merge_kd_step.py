"""Merges the tfjs and PyTorch sides of gpu_kd_step into one JSON with ratio_vs_torch per case.

Usage: python3 bench/reference/merge_kd_step.py ours.json torch.json [nvidia-smi.txt] > merged.json
A tfjs case `X_composite` (composite tfjs path), `X_tfjs` (tfjs's own matmul) or
`X_tMxNxK[v][u][p][sN]` (another tiling) is compared with torch's `X`, and so are the tfjs-only
variants in ALIASES. Cases that failed keep their error; a tfjs side cut off by a time limit
(`complete: false`) is merged as far as it got; a missing or unreadable torch.json (the PyTorch
side failed) gives a merge without ratios, marked incomplete, with the error under raw.torch.
"""
import json
import re
import sys

# tfjs-only variants of a torch case: tfjs's own Sum gradient (a host array uploaded) against
# torch's sum gradient, and both upload paths against torch's host-to-device copy.
ALIASES = [(r"^grad_sum_host_ones_", "grad_sum_"), (r"^upload_(tfjs|writebuffer)_", "upload_")]

ours = json.load(open(sys.argv[1]))
try:
    torch = json.load(open(sys.argv[2]))
except (OSError, ValueError) as e:  # the PyTorch side failed: keep the tfjs side, no ratios
    torch = {"cases": [], "versions": {}, "repeats": None, "error": f"{type(e).__name__}: {e}"}
smi = open(sys.argv[3]).read().strip() if len(sys.argv) > 3 else None
reference = {c["name"]: c for c in torch["cases"]}
cases = []
for c in ours["cases"]:
    base = re.sub(r"_(composite|tfjs|t\d+x\d+x\d+[uvp]*(s\d+)?)$", "", c["name"])
    for pattern, replacement in ALIASES:
        base = re.sub(pattern, replacement, base)
    ref = reference.get(base)
    ms = c["ms"] if c["ms"] == c["ms"] else None  # NaN (a failed case) becomes null
    row = {"name": c["name"], "ours_ms": ms, "torch_ms": ref and ref["ms"]}
    if ref and ms is not None and ref["ms"] > 0:
        row["ratio_vs_torch"] = ms / ref["ms"]
    if "error" in c:
        row["error"] = c["error"]
    if "tiling" in c:
        row["tiling"] = c["tiling"]
    if "tflops" in c:
        row["ours_tflops"] = c["tflops"]
        row["torch_tflops"] = ref and ref.get("tflops")
    cases.append(row)
print(json.dumps({
    "bench": "gpu_kd_step",
    "device": torch.get("device"),
    "driver": smi or torch.get("driver"),
    "adapter": ours.get("adapter"),
    "features": ours.get("features"),
    "chosen_tiling": ours.get("chosenTiling"),
    "complete": ours.get("complete", True) and "error" not in torch,
    "versions": {**ours["versions"], **torch["versions"]},
    "shapes": ours["shapes"],
    "repeats": {"tfjs": ours["repeats"], "torch": torch["repeats"]},
    "date": ours.get("date"),
    "cases": cases,
    "raw": {"tfjs": ours, "torch": torch},
}, indent=2))
