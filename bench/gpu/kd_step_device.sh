#!/usr/bin/env bash
# Runs issue #10's benchmark on the lent GPU: the tfjs side (bundled with Deno by
# ../shared/gpu/prepare.sh) and the PyTorch side, merged into $OUT/gpu_kd_step.json.
# On the CPU machine:  bash ../shared/gpu/prepare.sh bench/gpu_kd_step.ts
# then with the device tool (carry .gl and .gpu):  bash bench/gpu/kd_step_device.sh [--quick]
# and copy the returned gpu_kd_step.json to bench/results/.
set -euo pipefail
out=${OUT:-/tmp/kd_step}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/nvidia-smi.txt" || true
python3 bench/reference/torch_kd_step.py "$@" --out "$out/torch.json"
bash .gpu/run.sh gpu_kd_step.bundle.js --backend webgpu "$@" --out "$out/ours.json"
python3 bench/reference/merge_kd_step.py "$out/ours.json" "$out/torch.json" "$out/nvidia-smi.txt" \
  > "$out/gpu_kd_step.json"
python3 - "$out/gpu_kd_step.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["cases"]:
    ratio = c.get("ratio_vs_torch")
    print(f'{c["name"]:32s} ours {c["ours_ms"]:10.3f} ms  torch {c["torch_ms"] or float("nan"):9.3f} ms  ratio {ratio or float("nan"):8.2f}')
PY
