#!/usr/bin/env bash
# Prepares issue #10's GPU run on the CPU machine: bundles the benchmark and the WebGPU tests with
# ../shared/gpu/prepare.sh (Deno, the Vulkan loaders, one bundle per entry under the ignored .gpu/
# and .gl/), then compresses the bundles, which bench/gpu/kd_step_device.sh unpacks on the device.
# Compressed, they take ~0.4 MB each instead of ~3.4 MB: what travels to the device (the tracked
# files, .gpu/ and .gl/) must stay under 64 MiB (the committed results are ~10 MB: their pages share
# one data/results/plotly.min.js).
#
# Usage (from the repository root): bash bench/gpu/prepare.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
rm -f .gpu/*.bundle.js .gpu/*.bundle.js.xz
bash ../shared/gpu/prepare.sh bench/gpu_kd_step.ts bench/train_step.ts lib/gpu/fused_divergence_test.ts \
  lib/gpu/fused_adamw_test.ts lib/gpu/fused_gelu_test.ts lib/gpu/fused_layer_norm_test.ts lib/gpu/sum_of_squares_test.ts \
  lib/gpu/tiled_matmul_test.ts lib/gpu/webgpu_training_test.ts lib/gpu/finite_gate_test.ts
xz -T0 -9 -f .gpu/*.bundle.js
tracked=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
carried=$(du -cb .gpu .gl | tail -1 | cut -f1)
total=$(( (tracked + carried) / 1048576 ))
echo "travels to the device: ${total} MiB (tracked $(( tracked / 1048576 )) MiB + .gpu/.gl $(( carried / 1048576 )) MiB; limit 64)"
if [ "$total" -ge 63 ]; then
  echo "too large for the device: shrink what is tracked or carried" >&2
  exit 1
fi
