import assert from "node:assert/strict";
import { join } from "node:path";
import { existsSync } from "node:fs";
import {
  configHash,
  exportKubernetes,
  exportSlurm,
  isLocked,
  listRuns,
  type LockHolder,
  lockHolder,
  openRun,
  runPool,
  runStatus,
  runStatusText,
  runWithDependencies,
  secondsLeft,
  stableStringify,
} from "./mod.ts";

const fixture = join(import.meta.dirname!, "../../tests/fixtures/square_job.ts");

Deno.test("config hashes ignore key order and see every value", () => {
  assert.equal(stableStringify({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
  assert.equal(configHash({ a: 1, b: 2 }), configHash({ b: 2, a: 1 }));
  assert.notEqual(configHash({ a: 1, b: 2 }), configHash({ a: 1, b: 3 }));
  assert.match(configHash({}), /^[0-9a-f]{12}$/);
});

Deno.test("a run keeps committed rows, drops rows past a resume point, and is skipped once finished", async () => {
  const root = await Deno.makeTempDir();
  const run = openRun({ name: "t", config: { lr: 1 }, seed: 3, root });
  run.write({ step: 1, kind: "train", loss: 2 });
  run.write({ step: 2, kind: "train", loss: 1.5 });
  run.write({ step: 2, kind: "eval", ce: 3 });
  run.commit();
  const again = openRun({ name: "t", config: { lr: 1 }, seed: 3, root });
  assert.equal(again.dir, run.dir);
  assert.equal(again.rows.length, 3);
  again.resume(1);
  assert.deepEqual(again.rows.map((r) => r.step), [1]);
  assert.equal(again.finished, false);
  again.finish({ acc: 0.5 });
  assert.equal(openRun({ name: "t", config: { lr: 1 }, seed: 3, root }).summary().acc, 0.5);
  const meta = JSON.parse(await Deno.readTextFile(join(run.dir, "meta.json")));
  assert.equal(meta.seed, 3);
  assert.ok(meta.versions.tfjs && meta.versions.deno);
  assert.notEqual(openRun({ name: "t", config: { lr: 2 }, seed: 3, root }).dir, run.dir);
  assert.throws(() => openRun({ name: "a/b", config: {}, seed: 1, root }), /name must be/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("the worker pool runs jobs in processes and reports a failing job", async () => {
  const results = await runPool<{ y: number }>(
    [1, 2, 3].map((x) => ({ label: `x=${x}`, module: fixture, input: { x } })),
    { workers: 2 },
  );
  assert.deepEqual(results.map((r) => r.y), [1, 4, 9]);
  await assert.rejects(
    runPool([{ label: "bad", module: fixture, input: { x: -1 } }], { workers: 1 }),
    /job "bad" failed.*\n(.|\n)*negative input -1/,
  );
});

Deno.test("runWithDependencies runs dependencies first, longest first, and skips finished specs", async () => {
  type Spec = { id: string; deps: Spec[]; cost: number };
  const a: Spec = { id: "a", deps: [], cost: 1 };
  const b: Spec = { id: "b", deps: [], cost: 5 };
  const c: Spec = { id: "c", deps: [a, b], cost: 2 };
  const d: Spec = { id: "d", deps: [c], cost: 1 };
  const e: Spec = { id: "e", deps: [], cost: 3 };
  const done = new Map<string, string>([["b", "b (cached)"]]);
  const order: string[] = [];
  const results = await runWithDependencies<Spec, string>([d, c, a, e], {
    dependencies: (s) => s.deps,
    finished: (s) => done.get(s.id),
    run: (s) => {
      for (const dep of s.deps) assert.ok(done.has(dep.id), `${dep.id} before ${s.id}`);
      order.push(s.id);
      done.set(s.id, `${s.id} (ran)`);
      return Promise.resolve(done.get(s.id)!);
    },
    job: () => ({ module: fixture, input: {} }),
    cost: (s) => s.cost,
  }, { workers: 0 });
  assert.deepEqual(order, ["e", "a", "c", "d"], "level 0 longest first (b was cached)");
  assert.deepEqual(results, ["d (ran)", "c (ran)", "a (ran)", "e (ran)"]);
});

Deno.test("runWithDependencies over worker processes starts a spec once its own dependencies finish", async () => {
  type Spec = { x: number; deps: Spec[] };
  const one: Spec = { x: 1, deps: [] };
  const two: Spec = { x: 2, deps: [] };
  const nine: Spec = { x: 3, deps: [one] };
  const finishedOrder: number[] = [];
  const results = await runWithDependencies<Spec, { y: number }>([nine, two], {
    dependencies: (s) => s.deps,
    finished: () => undefined,
    run: () => Promise.reject(new Error("not used with workers")),
    job: (s) => ({ module: fixture, input: { x: s.x } }),
  }, { workers: 2, onDone: (_r, s) => finishedOrder.push(s.x) });
  assert.deepEqual(results.map((r) => r.y), [9, 4]);
  assert.ok(finishedOrder.indexOf(1) < finishedOrder.indexOf(3), "the dependency finished first");
  await assert.rejects(
    runWithDependencies<Spec, { y: number }>([{ x: -1, deps: [] }], {
      dependencies: () => [],
      finished: () => undefined,
      run: () => Promise.reject(new Error("unused")),
      job: (s) => ({ module: fixture, input: { x: s.x } }),
    }, { workers: 1 }),
    /negative input/,
  );
});

Deno.test("a sweep exports as a Slurm array and a Kubernetes Indexed Job whose tasks run by index", async () => {
  const dir = await Deno.makeTempDir();
  const jobs = [4, 6].map((x) => ({ label: `x${x}`, module: fixture, input: { x } }));
  const sbatch = await Deno.readTextFile(await exportSlurm(jobs, { dir, name: "sweep" }));
  assert.match(sbatch, /#SBATCH --array=0-1/);
  assert.match(sbatch, /tools\/job\.ts --jobs ".*jobs\.jsonl" --index "\$\{SLURM_ARRAY_TASK_ID\}"/);
  const yaml = await Deno.readTextFile(
    await exportKubernetes(jobs, { dir, name: "sweep", image: "node:22" }),
  );
  assert.match(yaml, /completionMode: Indexed\n\s+completions: 2/);
  assert.match(yaml, /--index \$JOB_COMPLETION_INDEX/);
  const lines = (await Deno.readTextFile(join(dir, "jobs.jsonl"))).trim().split("\n");
  assert.equal(
    JSON.parse(lines[1]).module,
    "tests/fixtures/square_job.ts",
    "paths relative to the repository",
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(import.meta.dirname!, "../../tools/job.ts"),
      "--jobs",
      join(dir, "jobs.jsonl"),
      "--index",
      "1",
    ],
    stdout: "piped",
  }).output();
  assert.match(new TextDecoder().decode(out.stdout), /RESULT \{"y":36\}/);
  await Deno.remove(dir, { recursive: true });
});

const ORPHANS: [string, { sleepMs?: number; trainSteps?: number }][] = [
  ["sleeping", { sleepMs: 60_000 }],
  ["training", { trainSteps: 1e6 }],
];
for (const [what, work] of ORPHANS) {
  Deno.test(`a pool worker stops when the process that started it is killed (${what})`, async () => {
    const dir = await Deno.makeTempDir();
    const pidFile = join(dir, "worker.pid");
    const pool = join(import.meta.dirname!, "pool.ts");
    const job = { label: what, module: fixture, input: { x: 2, pidFile, ...work } };
    const parent = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { runPool } from ${JSON.stringify(pool)}; await runPool([${JSON.stringify(job)}]);`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const alive = (pid: number) => {
      try {
        return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
      } catch {
        return false;
      }
    };
    const waitFor = async (ok: () => boolean, what: string, ms = 30_000) => {
      for (const t0 = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 100))) {
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      }
    };
    await waitFor(() => existsSync(pidFile) && Deno.readTextFileSync(pidFile) !== "", "the worker");
    const worker = Number(Deno.readTextFileSync(pidFile));
    assert.ok(alive(worker));
    parent.kill("SIGKILL");
    await parent.status;
    if (what === "training") await new Promise((r) => setTimeout(r, 1500)); // inside train()
    try {
      await waitFor(() => !alive(worker), "the orphaned worker to exit", 5_000);
    } finally {
      if (alive(worker)) Deno.kill(worker, "SIGKILL"); // a failing test leaves no worker behind
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a run's lock makes a second claimant wait, names the holder, and dies with it", async () => {
  const root = await Deno.makeTempDir();
  const run = openRun({ name: "locked", config: {}, seed: 1, root });
  const settled = <T>(p: Promise<T>) =>
    Promise.race([
      p.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
    ]);
  // In one process: a second open of the lock waits for the first to be released.
  const first = await run.lock();
  const waits: (LockHolder | undefined)[] = [];
  const second = run.lock({ onWait: (holder) => waits.push(holder) });
  assert.equal(await settled(second), false, "the second claim waits");
  assert.equal(waits.length, 1);
  assert.equal(waits[0]?.pid, Deno.pid);
  first.release();
  first.release(); // a second release does nothing
  assert.equal(await settled(second), true, "and gets the lock once it is released");
  (await second).release();
  // Across processes: a holder killed with SIGKILL leaves no stale lock behind.
  const lockModule = join(import.meta.dirname!, "lock.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { lockFolder } from ${JSON.stringify(lockModule)};
       await lockFolder(${JSON.stringify(run.dir)});
       console.log("locked");
       await new Promise((r) => setTimeout(r, 60_000));`,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.match((await reader.read()).value ?? "", /locked/);
  const holders: (LockHolder | undefined)[] = [];
  const third = run.lock({ onWait: (holder) => holders.push(holder) });
  assert.equal(await settled(third), false, "a live holder in another process is waited for");
  assert.equal(holders[0]?.pid, child.pid);
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
  assert.equal(await settled(third), true, "the killed holder's lock is gone");
  assert.equal(lockHolder(run.dir)?.pid, Deno.pid, "the lock file names the new holder");
  (await third).release();
  // A file system without advisory locks: the claim goes on unlocked and says so.
  const tryLock = Deno.FsFile.prototype.tryLock;
  Deno.FsFile.prototype.tryLock = () => Promise.reject(new Error("Operation not supported"));
  try {
    const refused: string[] = [];
    const unlocked = await run.lock({ onUnsupported: (e) => refused.push(e.message) });
    assert.deepEqual(refused, ["Operation not supported"]);
    unlocked.release();
  } finally {
    Deno.FsFile.prototype.tryLock = tryLock;
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("run statuses: not started, stopped, training (lock held), finished; the CLI lists them", async () => {
  const root = await Deno.makeTempDir();
  const open = (name: string) => openRun({ name, config: { train: { steps: 10 } }, seed: 1, root });
  const fresh = open("a-fresh");
  const stopped = open("b-stopped");
  await Deno.mkdir(join(stopped.dir, "checkpoint"));
  await Deno.writeTextFile(
    join(stopped.dir, "checkpoint", "state.json"),
    '{"step": 4, "seconds": 120}',
  );
  // A checkpoint swap cut short leaves only checkpoint.old (see saveCheckpoint).
  const swapped = open("c-swapped");
  await Deno.mkdir(join(swapped.dir, "checkpoint.old"));
  await Deno.writeTextFile(join(swapped.dir, "checkpoint.old", "state.json"), '{"step": 6}');
  const training = open("d-training");
  const done = open("e-done");
  done.finish({ steps: 10, val_ce: 1.25, seconds: 3 });
  await Deno.mkdir(join(root, "not-a-run")); // no meta.json: ignored
  assert.equal(await isLocked(training.dir), false, "no lock file: unlocked (and none created)");
  assert.equal(existsSync(join(training.dir, "lock")), false);
  const held = await training.lock();
  try {
    assert.equal(await isLocked(training.dir), true, "a lock held by another open file");
    const runs = await listRuns({ root });
    assert.deepEqual(runs.map((r) => [r.name, r.state, r.step, r.steps]), [
      ["a-fresh", "not started", 0, 10],
      ["b-stopped", "stopped", 4, 10],
      ["c-swapped", "stopped", 6, 10],
      ["d-training", "training", 0, 10],
      ["e-done", "finished", 10, 10],
    ]);
    assert.equal(runs[3].holder?.pid, Deno.pid);
    assert.equal(secondsLeft(runs[1]), 180, "6 steps left at 30 s a step");
    assert.equal(secondsLeft(runs[2]), undefined, "no seconds in its checkpoint");
    assert.equal(secondsLeft(runs[4]), undefined, "finished");
    assert.equal(runs[4].summary?.val_ce, 1.25);
    assert.equal(runs[0].id, fresh.id);
    const text = runStatusText(runs);
    assert.match(text, /^not started +0\/10 +a-fresh-\w+$/m);
    assert.match(
      text,
      /^stopped +4\/10 +b-stopped-\w+ +resumes from its checkpoint when run again; ~3 min left/m,
    );
    assert.match(text, new RegExp(`^training .*d-training-\\w+ +process ${Deno.pid} on `, "m"));
    assert.match(text, /^finished .*e-done-\w+ +val_ce 1\.2500, 3 s$/m);
    assert.match(text, /5 run\(s\): 1 finished, 1 training, 2 stopped, 1 not started$/);
    // The probe left the holder's lock in place.
    assert.equal(await isLocked(training.dir), true);
    // The command line, over the same folder, filtered by prefix.
    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(import.meta.dirname!, "../../tools/runs.ts"), "b-"],
      env: { KDLAB_RUNS: root },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(cli.stdout);
    assert.equal(cli.code, 0, new TextDecoder().decode(cli.stderr));
    assert.match(out, /^stopped +4\/10 +b-stopped-\w+/m);
    assert.match(out, /1 run\(s\): 1 stopped\n$/);
  } finally {
    held.release();
  }
  assert.equal((await runStatus(training.dir)).state, "not started", "released: nobody trains it");
  assert.deepEqual(await listRuns({ root: join(root, "missing") }), []);
  assert.equal(runStatusText([]), "0 run(s)");
  await Deno.remove(root, { recursive: true });
});
