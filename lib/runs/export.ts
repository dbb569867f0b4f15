/**
 * Exporting a set of jobs for a cluster, so a sweep that outgrows one machine runs the same
 * points elsewhere: a `jobs.jsonl` (one `{module, input}` per line) plus a Slurm array script or
 * a Kubernetes Indexed Job. Each array task runs `tools/job.ts --jobs jobs.jsonl --index $I`,
 * which writes its run folder under `KDLAB_RUNS`; copying those folders back into `runs/` merges
 * the results (finished runs are then read back, not retrained).
 *
 * @module
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { PoolJob } from "./pool.ts";
import { REPO_ROOT } from "./run.ts";

/** Writes `jobs.jsonl` with module paths relative to the repository root; returns its path. */
export async function writeJobList(jobs: PoolJob[], dir: string): Promise<string> {
  if (jobs.length === 0) throw new Error("writeJobList: no jobs");
  await Deno.mkdir(dir, { recursive: true });
  const lines = jobs.map((job) => {
    const path = job.module.startsWith("file:") ? fileURLToPath(job.module) : job.module;
    return JSON.stringify({
      label: job.label,
      module: relative(REPO_ROOT, path),
      input: job.input,
    });
  });
  const file = join(dir, "jobs.jsonl");
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  return file;
}

/** A Slurm array script running every job of `jobs.jsonl` (one array task per line). */
export async function exportSlurm(
  jobs: PoolJob[],
  options: { dir: string; name: string; cpus?: number; time?: string; partition?: string },
): Promise<string> {
  await writeJobList(jobs, options.dir);
  const script = `#!/bin/bash
#SBATCH --job-name=${options.name}
#SBATCH --array=0-${jobs.length - 1}
#SBATCH --cpus-per-task=${options.cpus ?? 1}
#SBATCH --time=${options.time ?? "04:00:00"}
${options.partition ? `#SBATCH --partition=${options.partition}\n` : ""}#SBATCH --output=%x-%a.out
# Run from the repository root; results land in \${KDLAB_RUNS:-runs}/ (copy them back to merge).
set -euo pipefail
cd "\${SLURM_SUBMIT_DIR}"
npx -y deno@2.9.6 run -A tools/job.ts --jobs "${options.dir}/jobs.jsonl" --index "\${SLURM_ARRAY_TASK_ID}"
`;
  const file = join(options.dir, `${options.name}.sbatch`);
  await Deno.writeTextFile(file, script);
  return file;
}

/** A Kubernetes Indexed Job (one completion index per line of `jobs.jsonl`). */
export async function exportKubernetes(
  jobs: PoolJob[],
  options: { dir: string; name: string; image: string; parallelism?: number; cpus?: number },
): Promise<string> {
  await writeJobList(jobs, options.dir);
  const yaml = `apiVersion: batch/v1
kind: Job
metadata:
  name: ${options.name}
spec:
  completionMode: Indexed
  completions: ${jobs.length}
  parallelism: ${options.parallelism ?? Math.min(jobs.length, 8)}
  backoffLimit: ${jobs.length}
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: job
          image: ${options.image}
          workingDir: /workspace
          command: ["bash", "-c"]
          args:
            - npx -y deno@2.9.6 run -A tools/job.ts --jobs ${options.dir}/jobs.jsonl --index $JOB_COMPLETION_INDEX
          env:
            - name: KDLAB_RUNS
              value: /workspace/runs
          resources:
            requests:
              cpu: "${options.cpus ?? 1}"
`;
  const file = join(options.dir, `${options.name}.yaml`);
  await Deno.writeTextFile(file, yaml);
  return file;
}
