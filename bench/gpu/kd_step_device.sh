#!/usr/bin/env bash
# Issue #10 on the lent GPU: the benchmark's PyTorch side and tfjs side (bundled with Deno by
# ../shared/gpu/prepare.sh), merged into $OUT/gpu_kd_step.json with ratio_vs_torch, and the WebGPU
# kernels' tests on the real adapter.
#
# On the CPU machine: bash bench/gpu/prepare.sh (bundles, compressed, under .gpu/ and .gl/).
# With the device tool (carry .gl and .gpu), one call per part so that each has the 10-minute limit:
#   bash bench/gpu/kd_step_device.sh bench [--quick]     # then copy gpu_kd_step.json to bench/results/
#   bash bench/gpu/kd_step_device.sh tests
#   bash bench/gpu/kd_step_device.sh train   # GPT teacher/student steps (bench/train_step.ts) on webgpu
set -uo pipefail
part=${1:-bench}
shift || true
out=${OUT:-/tmp/kd_step}
mkdir -p "$out"
# bench/gpu/prepare.sh compresses the bundles so that the upload stays under the device's limit.
for f in .gpu/*.bundle.js.xz; do
  [ -e "$f" ] && xz -d -k -f "$f"
done

run_bench() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
    > "$out/nvidia-smi.txt" || true
  # A failing PyTorch side must not cost the tfjs measurements: they are merged without it.
  rm -f "$out/torch.json"
  PYTHONUNBUFFERED=1 python3 bench/reference/torch_kd_step.py "$@" --out "$out/torch.json" ||
    echo "PyTorch side failed (exit $?); merging the tfjs side alone"
  # run.sh unpacks Deno to /tmp/deno and the Vulkan loaders, then runs the bundle. The bundle
  # writes its JSON after every case, so a run stopped here keeps what it measured.
  timeout "${KD_BENCH_TIMEOUT:-480}" bash .gpu/run.sh gpu_kd_step.bundle.js --backend webgpu "$@" \
    --out "$out/ours.json" || echo "tfjs side stopped early (exit $?); merging what it measured"
  python3 bench/reference/merge_kd_step.py "$out/ours.json" "$out/torch.json" \
    "$out/nvidia-smi.txt" > "$out/gpu_kd_step.json" || return 1
  python3 - "$out/gpu_kd_step.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("complete:", r["complete"], " chosen tiling:", r["chosen_tiling"], " adapter:", r["adapter"])
fmt = lambda x: "       -" if x is None else f"{x:8.3f}"
for c in r["cases"]:
    print(f'{c["name"]:34s} ours {fmt(c["ours_ms"])} ms  torch {fmt(c["torch_ms"])} ms  '
          f'ratio {fmt(c.get("ratio_vs_torch"))}  {c.get("error", "")}')
PY
}

run_tests() {
  # The same environment as run.sh, for `deno test` on the bundled test files.
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  [ -x /tmp/deno ] || { xz -d -T0 -c .gpu/deno.xz > /tmp/deno; chmod +x /tmp/deno; }
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  export NO_COLOR=1 XDG_RUNTIME_DIR=/tmp
  local status=0
  for t in .gpu/*_test.bundle.js; do
    [ -e "$t" ] || continue
    local log="$out/$(basename "$t" .bundle.js).txt"
    if /tmp/deno test -A --no-check "$t" > "$log" 2>&1; then
      echo "tests ok: $t"
    else
      echo "tests FAILED: $t (see $log)"
      status=1
    fi
    grep -E "passed|failed" "$log" | tail -1 || true
  done
  return $status
}

run_train() {
  # The notebooks' GPT training step (teacher, student, student distilled with FKL and TAID) on
  # webgpu, to set beside bench/results/train_step.json's wasm rows; 32 steps, so that reads every
  # 16 steps are timed as the trainer does them (and the read_every 1 rows beside them).
  timeout "${KD_BENCH_TIMEOUT:-480}" bash .gpu/run.sh train_step.bundle.js --backends webgpu \
    --steps "${KD_TRAIN_STEPS:-32}" --batch "${KD_TRAIN_BATCH:-16}" --profile "$@" \
    --out "$out/train_step_webgpu.json"
}

case $part in
  bench) run_bench "$@" ;;
  tests) run_tests ;;
  train) run_train "$@" ;;
  *) echo "usage: kd_step_device.sh bench|tests|train [--quick]" >&2; exit 2 ;;
esac
