/**
 * The training loop shared by supervised training and distillation: AdamW on a schedule,
 * global-norm clipping, gradient accumulation, periodic evaluation, metrics to a sink, atomic
 * checkpoints and exact resume, and a clear stop on a non-finite loss.
 *
 * Each step's losses, gradient norm and deferred input checks are read back together, once. Where a
 * readback is costly (≥ 10 ms under Deno's WebGPU, see {@link TrainOptions.readEvery}) the loop
 * reads every few steps instead, and a device-side gate keeps a non-finite step from updating the
 * weights before the host sees it.
 *
 * What is trained and on what is a {@link TrainTask} (see `tasks.ts`): the loop knows nothing of
 * models or data beyond "a batch for micro-step i" and "its loss".
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import type { Objective } from "../losses/registry.ts";
import { flushDeferredChecks } from "../deferred_checks.ts";
import { requireBackend } from "../require_backend.ts";
import { assignParams, readParams } from "../models/io.ts";
import { paramGrads, type Params } from "../models/params.ts";
import { AdamW, type AdamWConfig } from "./adamw.ts";
import { fusedKernelsAvailable } from "../gpu/env.ts";
import { finiteGate } from "../gpu/finite_gate.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { clipByGlobalNorm } from "./clip.ts";
import type { MetricRow, MetricsSink } from "./sink.ts";
import type { Schedule } from "./schedule.ts";

/**
 * The step loop gives timers a turn (a pool worker's watch on its parent, progress output) at
 * least this often: on wasm and cpu its awaits resolve as microtasks, which never let them run.
 */
const YIELD_EVERY_MS = 250;

/** Tensors of one micro-batch (all disposed by the trainer after use). */
export type Batch = Record<string, tf.Tensor | undefined>;

/** What to train and on what. */
export interface TrainTask<B extends Batch = Batch> {
  /** Trainable variables by name (the student's, plus the objective's own). */
  params: Params;
  /** Micro-batch `index` (a global counter: step × accumulation + micro), computed off the
   * gradient tape: data, and the frozen teacher's logits. */
  batch(index: number): B;
  /** The loss of a micro-batch, on the gradient tape. */
  loss(batch: B, index: number): tf.Scalar;
  /** The objective, for its state (TAID's t) and its per-step update. */
  objective?: StatefulObjective;
  /**
   * The task's own state for checkpoints (DistiLLM's threshold and replay buffer), when its
   * batches depend on more than (seed, index); a promise where it is read from the device.
   */
  state?(): unknown;
  /** Restores {@link state}. */
  load?(state: unknown): void;
}

/** What the loop needs of an objective: a name, a per-step hook, state for checkpoints. */
export type StatefulObjective = Pick<Objective, "name" | "observe" | "state" | "load" | "buffers">;

/** Options of {@link train}. */
export interface TrainOptions<B extends Batch = Batch> {
  /** What is trained: parameters, batches, loss, objective. */
  task: TrainTask<B>;
  /** Total optimiser steps. */
  steps: number;
  /** Learning rate by step. */
  schedule: Schedule;
  /** AdamW's hyper-parameters (defaults: {@linkcode AdamWConfig}). */
  optimizer?: AdamWConfig;
  /** Clip gradients to this global L2 norm (default: no clipping, norm still logged). */
  clipNorm?: number;
  /** Micro-batches per optimiser step (default 1); gradients are averaged. */
  accumulation?: number;
  /**
   * Evaluate every `every` steps and after the last (and before the first step of a fresh run
   * with `atStart`); the numbers become an "eval" row.
   */
  evaluate?: {
    every: number;
    run: (step: number) => Record<string, number> | Promise<Record<string, number>>;
    atStart?: boolean;
  };
  /** Where rows go (a run's metrics file, memory, ...). */
  sink?: MetricsSink;
  /** Save a checkpoint every `every` steps and after the last, and resume from `dir`. */
  checkpoint?: { dir: string; every: number };
  /** Called with every row written (progress bars); may throw to stop the run. */
  onRow?: (row: MetricRow) => void;
  /**
   * Read losses back every this many steps (and at every evaluation, checkpoint and the last
   * step). Default: {@linkcode DEVICE_READ_EVERY} where the fused webgpu kernels run (every
   * readback there costs ≥ 10 ms: Deno's `mapAsync` sleeps 10 ms after polling the device), else 1.
   * Between reads, a step whose loss or gradient norm is NaN/Inf, and every later one, skips its
   * update on the device (`finiteGate`, fused AdamW's gate), so the run still stops with the
   * weights of the last good step; objectives adapt on the device too (TAID's t, through
   * `observe`), behind the same gate. Input checks that fail with a finite loss are reported at
   * the next read, after the steps in between have updated.
   */
  readEvery?: number;
}

/** Steps between readbacks on webgpu with the fused kernels (see {@link TrainOptions.readEvery}). */
export const DEVICE_READ_EVERY = 16;

/** What {@link train} did. */
export interface TrainResult {
  /** Steps completed (equals `steps` unless a run was already past it). */
  steps: number;
  /** Steps found done in the checkpoint (0 for a fresh run). */
  resumedFrom: number;
  /** The last step's training loss (NaN when no step ran). */
  finalLoss: number;
  /** Wall-clock seconds of this call. */
  seconds: number;
  /**
   * Wall-clock seconds of the whole run: this call's plus those recorded in the checkpoint it
   * resumed from (the steps redone after an interruption count once). What an uninterrupted run
   * would have taken, for comparing methods' costs.
   */
  totalSeconds: number;
  /**
   * CPU seconds (user + system) of this process during the whole run, segments summed like
   * `totalSeconds`. It grows far less than wall-clock time when other processes share the cores
   * (measured: 1.3× against 5× wall-clock for a run beside five others on two cores; caches and
   * context switches cost a little), so it compares methods' costs on CPU backends (wasm runs one
   * thread) better; on a GPU it counts only the host's part.
   */
  totalCpuSeconds: number;
}

/** CPU seconds (user + system) this process has used so far. */
export function processCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** What an objective's `observe` returned for one step, split for the readback. */
interface Observed {
  /** Row keys of `tensors`, in order. */
  keys: string[];
  /** float32 [k] on the device (read with the step's losses), or undefined when k = 0. */
  tensors?: tf.Tensor;
  numbers: Record<string, number>;
}

/**
 * Calls the objective's per-step hook with the step's mean loss (on the device) and splits what it
 * returns into device values, read back later with the losses, and host numbers.
 */
function observeStep(
  objective: StatefulObjective | undefined,
  values: tf.Scalar[],
  step: number,
  gate: tf.Tensor | undefined,
): Observed {
  const out: Observed = { keys: [], numbers: {} };
  if (!objective?.observe) return out;
  const loss = tf.tidy(() => tf.mean(tf.stack(values)) as tf.Scalar);
  let fields;
  try {
    fields = objective.observe({ loss, step, gate }) ?? {};
  } finally {
    loss.dispose();
  }
  const tensors: tf.Tensor[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const name = `${objective.name}_${key}`;
    if (typeof value === "number") out.numbers[name] = value;
    else if (value instanceof tf.Tensor && value.size === 1) {
      out.keys.push(name);
      tensors.push(value);
    } else {
      tf.dispose(Object.values(fields).filter((v) => v instanceof tf.Tensor));
      throw new Error(
        `train: objective "${objective.name}" observed "${key}" as ${
          value instanceof tf.Tensor ? `a tensor of shape [${value.shape}]` : typeof value
        }; expected a number or a one-element tensor`,
      );
    }
  }
  if (tensors.length > 0) {
    out.tensors = tf.tidy(() =>
      tf.concat(tensors.map((t) => tf.cast(tf.reshape(t, [1]), "float32")))
    );
    tf.dispose(tensors);
  }
  return out;
}

/** Runs (or resumes) training; see the module doc. */
export async function train<B extends Batch>(options: TrainOptions<B>): Promise<TrainResult> {
  const { task, steps, schedule, clipNorm, sink, checkpoint, evaluate, onRow } = options;
  const accumulation = options.accumulation ?? 1;
  requireBackend("train");
  if (!(Number.isInteger(steps) && steps >= 0)) {
    throw new Error(`train: steps must be a non-negative integer, got ${steps}`);
  }
  if (!(Number.isInteger(accumulation) && accumulation >= 1)) {
    throw new Error(`train: accumulation must be a positive integer, got ${accumulation}`);
  }
  if (checkpoint && !(checkpoint.every >= 1)) {
    throw new Error("train: checkpoint.every must be ≥ 1");
  }
  if (evaluate && !(evaluate.every >= 1)) throw new Error("train: evaluate.every must be ≥ 1");
  if (
    options.readEvery !== undefined &&
    !(Number.isInteger(options.readEvery) && options.readEvery >= 1)
  ) {
    throw new Error(`train: readEvery must be a positive integer, got ${options.readEvery}`);
  }
  // Where readbacks are cheap (cpu, wasm) every step is read before its update; elsewhere a
  // device-side gate stands in for the read (see readEvery).
  const readEvery = fusedKernelsAvailable() ? options.readEvery ?? DEVICE_READ_EVERY : 1;
  const names = Object.keys(task.params);
  if (names.length === 0) throw new Error("train: the task has no trainable parameters");
  const optimizer = new AdamW(task.params, options.optimizer);
  const started = performance.now();
  const cpuStarted = processCpuSeconds();
  const emit = (row: MetricRow) => {
    sink?.write(row);
    onRow?.(row);
  };

  let start = 0;
  let earlierSeconds = 0;
  let earlierCpuSeconds = 0;
  if (checkpoint) {
    const saved = await loadCheckpoint(checkpoint.dir);
    if (saved) {
      earlierSeconds = saved.state.seconds ?? 0;
      earlierCpuSeconds = saved.state.cpuSeconds ?? 0;
      assignParams(task.params, saved.params, `checkpoint in ${checkpoint.dir}`);
      optimizer.load(saved.moments, saved.state.optimizerStep);
      if (saved.state.objective !== undefined) task.objective?.load?.(saved.state.objective);
      const buffers = task.objective?.buffers?.();
      if (buffers) {
        assignParams(buffers, saved.buffers ?? {}, `objective buffers in ${checkpoint.dir}`);
      }
      if (saved.state.task !== undefined) task.load?.(saved.state.task);
      start = Math.min(saved.state.step, steps);
    }
    await sink?.resume?.(start);
  }
  if (evaluate?.atStart && start === 0 && steps > 0) {
    emit({ step: 0, kind: "eval", ...await evaluate.run(0) });
  }

  let finalLoss = NaN;
  const nonFinite = (what: string) =>
    new Error(
      `train: ${what}${task.objective ? ` with objective "${task.objective.name}"` : ""}; ` +
        `stopping before the update (last finite loss: ${finalLoss}). Lower the learning ` +
        `rate or enable clipNorm.`,
    );
  /**
   * One step's mean loss and gradient norm from its readback; throws on a non-finite loss or
   * gradient norm.
   */
  const parseStep = (part: Float32Array, step: number) => {
    const losses = Array.from(part.subarray(0, accumulation));
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) {
      throw nonFinite(`the loss is ${losses[bad]} at step ${step} (micro-batch ${bad})`);
    }
    const gradNorm = part[accumulation];
    if (!Number.isFinite(gradNorm)) {
      throw nonFinite(`the gradient norm is ${gradNorm} at step ${step}`);
    }
    return { loss: losses.reduce((s, l) => s + l, 0) / accumulation, gradNorm };
  };
  // Steps not yet read back: their losses, gradient norm and observed values on the device.
  const unread: { step: number; lr: number; readback: tf.Tensor; observed: Observed }[] = [];
  // With readEvery > 1: 0 from the first unread step with a NaN/Inf loss or norm on.
  let gate: tf.Tensor | undefined;
  /** Reads the unread steps in one readback; their rows, or an error at the first bad step. */
  const readUnread = async (): Promise<MetricRow[]> => {
    const window = unread.splice(0);
    const sizes = window.map((w) => w.readback.size);
    const all = tf.concat(window.map((w) => w.readback));
    tf.dispose([...window.map((w) => w.readback), ...(gate ? [gate] : [])]);
    gate = undefined;
    let read: Float32Array;
    try {
      read = await flushDeferredChecks(all);
    } finally {
      all.dispose();
    }
    let offset = 0;
    const rows: MetricRow[] = [];
    for (const [i, { step, lr, observed }] of window.entries()) {
      const part = read.subarray(offset, offset + sizes[i]);
      offset += sizes[i];
      let parsed;
      try {
        parsed = parseStep(part, step);
      } catch (error) {
        rows.forEach(emit); // the good steps before the bad one keep their rows
        throw error;
      }
      const { loss, gradNorm } = parsed;
      finalLoss = loss;
      const fields = Object.fromEntries(
        observed.keys.map((key, k) => [key, part[accumulation + 1 + k]]),
      );
      rows.push({
        step: step + 1,
        kind: "train",
        loss,
        lr,
        gradNorm,
        ...observed.numbers,
        ...fields,
      });
    }
    return rows;
  };
  let yielded = performance.now();
  try {
    for (let step = start; step < steps; step++) {
      if (performance.now() - yielded > YIELD_EVERY_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        yielded = performance.now();
      }
      const lr = schedule(step);
      const values: tf.Scalar[] = [];
      let summed: Record<string, tf.Tensor> | undefined;
      for (let micro = 0; micro < accumulation; micro++) {
        const index = step * accumulation + micro;
        const batch = task.batch(index);
        const { value, grads } = paramGrads(() => task.loss(batch, index), task.params);
        for (const t of Object.values(batch)) t?.dispose();
        values.push(value);
        if (!summed) summed = grads;
        else {
          const previous = summed;
          summed = tf.tidy(() => {
            const out: Record<string, tf.Tensor> = {};
            for (const key of Object.keys(previous)) out[key] = previous[key].add(grads[key]);
            return out;
          });
          tf.dispose([...Object.values(previous), ...Object.values(grads)]);
        }
      }
      // Gradients by parameter name, averaged over micro-batches; with one micro-batch the tensors
      // are used as they are, without a copy.
      const averaged: Record<string, tf.Tensor> = {};
      for (const [key, g] of Object.entries(summed!)) {
        averaged[key] = accumulation === 1 ? g : tf.div(g, accumulation);
        if (accumulation !== 1) g.dispose();
      }
      const { grads, norm } = clipByGlobalNorm(averaged, clipNorm);
      tf.dispose(Object.values(averaged));
      // One readback for the step (a GPU round trip is costly): the micro-batch losses, the
      // gradient norm, what the objective observed, and any deferred input checks.
      let readback = tf.tidy(() => tf.concat([...values, norm].map((t) => t.reshape([1]))));
      tf.dispose(norm);
      if (readEvery > 1) {
        // Read later: the gate closes on this step's NaN/Inf (and stays closed for the window).
        const open = finiteGate(readback, gate);
        gate?.dispose();
        gate = open;
      }
      let observed: Observed;
      try {
        observed = observeStep(task.objective, values, step, gate);
      } catch (error) {
        tf.dispose([readback, ...Object.values(grads)]);
        throw error;
      } finally {
        tf.dispose(values);
      }
      if (observed.tensors) {
        const joined = tf.concat([readback, observed.tensors]);
        tf.dispose([readback, observed.tensors]);
        readback = joined;
      }
      unread.push({ step, lr, readback, observed });
      const done = step + 1;
      const due = (every?: number) => every !== undefined && (done % every === 0 || done === steps);
      const evaluating = due(evaluate?.every);
      const saving = due(checkpoint?.every);
      if (readEvery > 1) {
        optimizer.apply(grads, lr, gate);
        tf.dispose(Object.values(grads));
        // Evaluations and checkpoints see every step before them read (and checked).
        if (due(readEvery) || evaluating || saving) (await readUnread()).forEach(emit);
      } else {
        // Read before the update: a bad step stops the run with the weights of the one before.
        let rows: MetricRow[];
        try {
          rows = await readUnread();
        } catch (error) {
          tf.dispose(Object.values(grads));
          throw error;
        }
        optimizer.apply(grads, lr);
        tf.dispose(Object.values(grads));
        rows.forEach(emit);
      }
      if (evaluate && evaluating) emit({ step: done, kind: "eval", ...await evaluate.run(done) });
      if (checkpoint && saving) {
        await sink?.commit?.();
        await saveCheckpoint(checkpoint.dir, {
          state: {
            step: done,
            optimizerStep: optimizer.step,
            objective: await task.objective?.state?.(),
            task: await task.state?.(),
            seconds: earlierSeconds + (performance.now() - started) / 1000,
            cpuSeconds: earlierCpuSeconds + processCpuSeconds() - cpuStarted,
          },
          params: await readParams(task.params),
          moments: await optimizer.moments(),
          buffers: await readParams(task.objective?.buffers?.() ?? {}),
        });
      }
    }
    await sink?.commit?.();
  } finally {
    optimizer.dispose();
    tf.dispose([...unread.map((w) => w.readback), ...(gate ? [gate] : [])]);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    steps: Math.max(start, steps),
    resumedFrom: start,
    finalLoss,
    seconds,
    totalSeconds: earlierSeconds + seconds,
    totalCpuSeconds: earlierCpuSeconds + processCpuSeconds() - cpuStarted,
  };
}
