/**
 * The plumbing of issue #10's device run, checked without a GPU: bench/gpu_kd_step.ts (on the
 * software WebGPU adapter, quick shapes, two matmul tilings) and bench/reference/torch_kd_step.py (against the shape-only stand-in for
 * PyTorch in fixtures/shape_torch) run to the end, and bench/reference/merge_kd_step.py pairs
 * every tfjs case with its PyTorch case. A lent GPU session has 30 minutes of device time; a name
 * that drifted on one side, or a script that fails on its last line, would cost it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runDeno } from "../tools/deno.ts";
import { SYSTEM_PYTHON } from "../tools/setup.ts";

interface MergedCase {
  name: string;
  ours_ms: number | null;
  torch_ms: number | null;
  ratio_vs_torch?: number;
}

interface Merged {
  complete: boolean;
  cases: MergedCase[];
  raw: { torch: { error?: string } };
}

async function python(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(SYSTEM_PYTHON, {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.equal(code, 0, `python3 ${args.join(" ")}:\n${text.decode(stderr)}`);
  return text.decode(stdout);
}

Deno.test("gpu_kd_step: both sides run and every tfjs case gets a PyTorch ratio", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kdlab-gpu-bench-" });
  const ours = join(dir, "ours.json");
  const torch = join(dir, "torch.json");
  const tfjs = await runDeno([
    "run",
    "-A",
    "bench/gpu_kd_step.ts",
    "--backend",
    "webgpu",
    "--quick",
    "--tilings",
    "8x8x8vu,4x4x16",
    "--repeats",
    "1",
    "--out",
    ours,
  ]);
  assert.equal(tfjs.code, 0, tfjs.output);
  await python(["bench/reference/torch_kd_step.py", "--quick", "--repeats", "1", "--out", torch], {
    PYTHONPATH: join(ROOT, "tests", "fixtures", "shape_torch"),
  });

  const merged: Merged = JSON.parse(
    await python(["bench/reference/merge_kd_step.py", ours, torch]),
  );
  assert.equal(merged.complete, true);
  const names = merged.cases.map((c) => c.name);
  const headlines = [
    "matmul_256",
    "matmul_256_t4x4x16",
    "kl_forward_V1024",
    "kd_step_taid_V4000",
    "kd_step_fkl_V4000_synced",
    "kd_step_fkl_V4000_composite",
    "grad_sum_host_ones_256x1024",
    "upload_writebuffer_256x1024",
  ];
  for (const headline of headlines) {
    assert.ok(names.includes(headline), `${headline} in ${names.join(", ")}`);
  }
  const unpaired = merged.cases.filter((c) => c.torch_ms === null).map((c) => c.name);
  assert.deepEqual(unpaired, [], "tfjs cases without a PyTorch case of the same name");
  for (const c of merged.cases) {
    assert.ok(c.ours_ms !== null && c.ours_ms > 0, `${c.name}: ours_ms ${c.ours_ms}`);
    assert.ok(
      c.ratio_vs_torch === undefined || Number.isFinite(c.ratio_vs_torch),
      `${c.name}: ratio ${c.ratio_vs_torch}`,
    );
  }

  // A failed PyTorch side keeps the tfjs measurements, with no ratios, marked incomplete.
  const alone: Merged = JSON.parse(
    await python(["bench/reference/merge_kd_step.py", ours, join(dir, "missing.json")]),
  );
  assert.equal(alone.complete, false);
  assert.equal(alone.cases.length, merged.cases.length);
  assert.ok(alone.cases.every((c) => c.torch_ms === null && c.ratio_vs_torch === undefined));
  assert.match(alone.raw.torch.error ?? "", /FileNotFoundError/);
  await Deno.remove(dir, { recursive: true });
});
