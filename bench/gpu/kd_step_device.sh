#!/usr/bin/env bash
# Issue #10 on the lent GPU: the WebGPU kernels' tests on the real adapter, then the benchmark's
# tfjs side (bundled with Deno by ../shared/gpu/prepare.sh) and PyTorch side, merged into
# $OUT/gpu_kd_step.json with ratio_vs_torch.
#
# On the CPU machine:
#   bash ../shared/gpu/prepare.sh bench/gpu_kd_step.ts lib/gpu/fused_divergence_test.ts \
#     lib/gpu/tiled_matmul_test.ts lib/gpu/webgpu_training_test.ts
# With the device tool (carry .gl and .gpu):  bash bench/gpu/kd_step_device.sh [--quick]
# Then copy the returned gpu_kd_step.json to bench/results/.
set -euo pipefail
out=${OUT:-/tmp/kd_step}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/nvidia-smi.txt" || true
python3 bench/reference/torch_kd_step.py "$@" --out "$out/torch.json"
# run.sh unpacks Deno to /tmp/deno and the Vulkan loaders, then runs the bundle.
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
# The kernels' tests, on the real adapter (same environment as run.sh).
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export NO_COLOR=1 XDG_RUNTIME_DIR=/tmp
status=0
for t in .gpu/*_test.bundle.js; do
  [ -e "$t" ] || continue
  log="$out/$(basename "$t" .bundle.js).txt"
  if /tmp/deno test -A --no-check "$t" > "$log" 2>&1; then echo "tests ok: $t"; else echo "tests FAILED: $t (see $log)"; status=1; fi
  grep -E "passed|failed" "$log" | tail -1 || true
done
exit $status
