/**
 * Runs jobs in worker processes, a few at a time. Under Deno the wasm backend has one thread
 * (threaded wasm cannot start its workers), so two processes are how a 2-core machine trains two
 * runs at once (`bench/results/train_step.json`: 1.9× the tokens/s of one process). A job is a
 * module exporting `runJob(input)` and a JSON input; its result comes back as JSON. Jobs write
 * their own run folders, so a pool that is stopped and started again only redoes unfinished work.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const WORKER = fileURLToPath(new URL("../../tools/job.ts", import.meta.url));

/**
 * Environment variable naming the pid of the process that started a worker: `tools/job.ts` exits
 * once its parent is gone, so an interrupted notebook or script leaves no orphan training a run
 * (which a second start would train at the same time, in the same folder).
 */
export const PARENT_ENV = "KDLAB_WORKER_PARENT";

/** One job: a module exporting `runJob(input)` and its JSON input. */
export interface PoolJob<I = unknown> {
  /** A label for progress and errors. */
  label: string;
  /** Path or file URL of the module. */
  module: string;
  /** The JSON input passed to `runJob`. */
  input: I;
}

/** Options of {@link runPool}. */
export interface PoolOptions<R> {
  /** Processes at once (default: the number of CPU cores). */
  workers?: number;
  /** Extra environment for the workers (the parent's is inherited). */
  env?: Record<string, string>;
  /** Called as each job ends. */
  onDone?: (job: PoolJob, result: R, index: number) => void;
}

/** Runs one job in a child process and returns its result. */
export async function runInWorker<R>(job: PoolJob, env: Record<string, string> = {}): Promise<R> {
  const module = job.module.startsWith("file:") ? fileURLToPath(job.module) : job.module;
  const inputFile = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(inputFile, JSON.stringify(job.input));
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", WORKER, module, inputFile],
      // The worker exits if this process dies (a killed kernel must not leave runs training).
      env: { ...env, [PARENT_ENV]: String(Deno.pid) },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!out.success || !line) {
      const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-15).join("\n");
      throw new Error(`job "${job.label}" failed (exit ${out.code}):\n${stderr}`);
    }
    return JSON.parse(line.slice("RESULT ".length)) as R;
  } finally {
    await Deno.remove(inputFile).catch(() => {});
  }
}

/** Runs jobs with at most `workers` processes at once; results in job order. */
export async function runPool<R>(jobs: PoolJob[], options: PoolOptions<R> = {}): Promise<R[]> {
  const workers = Math.max(1, options.workers ?? navigator.hardwareConcurrency ?? 1);
  const results = new Array<R>(jobs.length);
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (next < jobs.length && failure === undefined) {
      const index = next++;
      try {
        results[index] = await runInWorker<R>(jobs[index], options.env);
        options.onDone?.(jobs[index], results[index], index);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, lane));
  if (failure !== undefined) throw failure;
  return results;
}

/** The absolute path of a module next to `base` (e.g. `import.meta.url`). */
export function modulePath(base: string, relative: string): string {
  return join(fileURLToPath(new URL(".", base)), relative);
}

/** How {@link runWithDependencies} handles one kind of spec. */
export interface DependentRunner<S, R> {
  /** Specs this one needs finished first (teachers, initial weights). */
  dependencies(spec: S): S[];
  /** The summary of a finished spec, or undefined when it has not finished. */
  finished(spec: S): R | undefined;
  /** Runs a spec in this process. */
  run(spec: S): Promise<R>;
  /** The module whose `runJob(input)` runs a spec in a worker, and that input. */
  job(spec: S): { module: string; input: unknown };
  /** Relative cost, to start the longest jobs first (default: equal). */
  cost?(spec: S): number;
}

/**
 * Runs specs and everything they depend on. A spec starts as soon as its dependencies have
 * finished (not when a whole level has), on one of `workers` processes (0: in this process, one
 * at a time); among the ready specs the longest goes first. Finished specs are read back, not
 * re-run. When a job fails, no new job starts, the running ones finish, and the error is thrown.
 * Returns summaries in input order.
 */
export async function runWithDependencies<S, R>(
  specs: S[],
  runner: DependentRunner<S, R>,
  options: { workers?: number; onDone?: (summary: R, spec: S) => void } = {},
): Promise<R[]> {
  const workers = options.workers ?? navigator.hardwareConcurrency ?? 1;
  const byKey = new Map<string, S>();
  const depsOf = new Map<string, string[]>();
  const visit = (s: S): string => {
    const key = JSON.stringify(s);
    if (!byKey.has(key)) {
      byKey.set(key, s);
      depsOf.set(key, runner.dependencies(s).map(visit));
    }
    return key;
  };
  specs.forEach(visit);
  const results = new Map<string, R>();
  const finish = (key: string, summary: R) => {
    results.set(key, summary);
    options.onDone?.(summary, byKey.get(key)!);
  };
  const pending = new Set<string>();
  for (const key of byKey.keys()) {
    const summary = runner.finished(byKey.get(key)!);
    if (summary) finish(key, summary);
    else pending.add(key);
  }
  const cost = (key: string) => runner.cost?.(byKey.get(key)!) ?? 0;
  const runOne = (key: string): Promise<R> => {
    const spec = byKey.get(key)!;
    return workers === 0
      ? runner.run(spec)
      : runInWorker<R>({ label: key.slice(0, 80), ...runner.job(spec) });
  };
  const inFlight = new Map<string, Promise<void>>();
  let failure: unknown;
  while (pending.size > 0 || inFlight.size > 0) {
    if (failure === undefined) {
      const ready = [...pending]
        .filter((key) => depsOf.get(key)!.every((d) => results.has(d)))
        .sort((a, b) => cost(b) - cost(a));
      while (ready.length > 0 && inFlight.size < Math.max(1, workers)) {
        const key = ready.shift()!;
        pending.delete(key);
        inFlight.set(
          key,
          runOne(key).then(
            (summary) => finish(key, summary),
            (error) => void (failure ??= error),
          ).finally(() => inFlight.delete(key)),
        );
      }
      if (inFlight.size === 0 && pending.size > 0) {
        throw new Error(
          `runWithDependencies: ${pending.size} specs wait on dependencies that cannot run`,
        );
      }
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight.values());
  }
  if (failure !== undefined) throw failure;
  return specs.map((s) => results.get(JSON.stringify(s))!);
}
