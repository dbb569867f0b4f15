/**
 * Checkpoints: everything a resumed run needs to continue exactly as if never stopped. Batches
 * and dropout masks are pure functions of (seed, step), so the state is the parameters, the
 * optimiser's moments and step, the objective's state (TAID's t) and the step count.
 *
 * A checkpoint folder is written beside the old one and swapped in by rename, so a kill at any
 * moment leaves either the old or the new checkpoint, never half of one.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { decodeSafetensors, encodeSafetensors, type HostTensors } from "../models/io.ts";

/** What a checkpoint holds besides tensors. */
export interface CheckpointState {
  /** Optimiser steps completed. */
  step: number;
  /** The AdamW step counter (differs from `step` only if a run changed optimisers). */
  optimizerStep: number;
  /** The objective's state (e.g. TAID's t), as its `state()` returned it. */
  objective?: unknown;
  /** The task's own state (DistiLLM's replay buffer), as its `state()` returned it. */
  task?: unknown;
  /**
   * Wall-clock seconds of training up to this checkpoint, over every segment of a resumed run
   * (absent in checkpoints written before it was recorded).
   */
  seconds?: number;
  /** CPU seconds of training up to this checkpoint, like `seconds` (absent in older checkpoints). */
  cpuSeconds?: number;
  /** Anything else the caller wants back (e.g. a config fingerprint). */
  extra?: Record<string, unknown>;
}

/** A loaded checkpoint. */
export interface Checkpoint {
  /** Step counters and the objective's state. */
  state: CheckpointState;
  /** Parameter values by name. */
  params: HostTensors;
  /**
   * The objective's buffers by name (CRD's memory banks): state too large for JSON, saved as
   * `buffers.safetensors` when there are any.
   */
  buffers?: HostTensors;
  /** AdamW's moments by name (`m.<name>`, `v.<name>`). */
  moments: HostTensors;
}

/** Writes a checkpoint into `dir/checkpoint`, replacing the previous one atomically. */
export async function saveCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const tmp = join(dir, "checkpoint.tmp");
  const final = join(dir, "checkpoint");
  const old = join(dir, "checkpoint.old");
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp);
  await Deno.writeFile(join(tmp, "params.safetensors"), encodeSafetensors(checkpoint.params));
  await Deno.writeFile(join(tmp, "optimizer.safetensors"), encodeSafetensors(checkpoint.moments));
  if (checkpoint.buffers && Object.keys(checkpoint.buffers).length > 0) {
    await Deno.writeFile(join(tmp, "buffers.safetensors"), encodeSafetensors(checkpoint.buffers));
  }
  await Deno.writeTextFile(join(tmp, "state.json"), JSON.stringify(checkpoint.state, null, 2));
  await Deno.remove(old, { recursive: true }).catch(() => {});
  if (existsSync(final)) await Deno.rename(final, old);
  await Deno.rename(tmp, final);
  await Deno.remove(old, { recursive: true }).catch(() => {});
}

/**
 * The folder holding `dir`'s readable checkpoint: `dir/checkpoint`, or `dir/checkpoint.old` when
 * a swap in {@link saveCheckpoint} was cut short; undefined when there is none.
 */
export function checkpointPath(dir: string): string | undefined {
  return [join(dir, "checkpoint"), join(dir, "checkpoint.old")]
    .find((path) => existsSync(join(path, "state.json")));
}

/** The checkpoint in `dir`, or undefined when there is none (also recovers a swap cut short). */
export async function loadCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const path = checkpointPath(dir);
  if (path === undefined) return undefined;
  const state = JSON.parse(await Deno.readTextFile(join(path, "state.json"))) as CheckpointState;
  const params = decodeSafetensors(await Deno.readFile(join(path, "params.safetensors"))).tensors;
  const moments = decodeSafetensors(await Deno.readFile(join(path, "optimizer.safetensors")))
    .tensors;
  const buffersFile = join(path, "buffers.safetensors");
  const buffers = existsSync(buffersFile)
    ? decodeSafetensors(await Deno.readFile(buffersFile)).tensors
    : undefined;
  return { state, params, moments, ...(buffers ? { buffers } : {}) };
}
