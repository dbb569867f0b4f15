import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { numericGradient, randomRows, type Rows64 } from "../../tests/reference/losses64.ts";
import { blockHint64, nst64, vid64 } from "../../tests/reference/representation64.ts";
import { getLoss, MINIMAL_MAP_CHANNELS, minimalConfig } from "../losses/mod.ts";
import {
  BlockFitNetHint,
  BlockVariationalInformation,
  flattenBlocks,
  neuronSelectivityTransfer,
  unflattenBlocks,
} from "./mod.ts";

await tf.setBackend("cpu");

const close = (a: number, e: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}: ${a} vs ${e}`);

/** Two blocks per model, 3 examples: 4×4 and 2×2 maps; the channel counts differ. */
const B = 3;
type Shape = [number, number, number, number];
const studentShapes: Shape[] = [[B, 4, 4, 2], [B, 2, 2, 3]];
const teacherShapes: Shape[] = [[B, 4, 4, 5], [B, 2, 2, 4]];
/** A block as rows [B·H·W][C] (NHWC order), as the float64 references take it. */
const blockRows = (shape: number[], seed: number) =>
  randomRows(shape[0] * shape[1] * shape[2], shape[3], seed, 1.5);
const studentRows = studentShapes.map((s, j) => blockRows(s, 60 + j));
const teacherRows = teacherShapes.map((s, j) => blockRows(s, 70 + j));
const toMap = (rows: Rows64, shape: Shape) => tf.tensor2d(rows).reshape(shape) as tf.Tensor4D;
const teacherMaps = () => teacherRows.map((r, j) => toMap(r, teacherShapes[j]));

/** Block VID's float64 value: Σ_j vid64 with each block's positions as rows. */
function blockVid64(
  student: Rows64[],
  heads: Record<string, Rows64>,
): number {
  return student.reduce((total, s, j) =>
    total + vid64(teacherRows[j], s, {
      w1: heads[`vid${j}.w1`],
      w2: heads[`vid${j}.w2`],
      w3: heads[`vid${j}.w3`],
      alpha: heads[`vid${j}.alpha`][0],
    }), 0);
}

/** The block hint's float64 value at block 1 (2×2 maps, 3 → 4 channels). */
function hint64(student: Rows64[], heads: Record<string, Rows64>): number {
  const [, h, w] = studentShapes[1];
  return blockHint64(
    teacherRows[1],
    student[1],
    [B, h, w],
    heads["hint.conv.w"][0],
    heads["hint.conv.b"][0],
  );
}

/** Variables as float64 rows: matrices as they are, vectors and conv filters as one row. */
const hostParams = (params: Record<string, tf.Variable>): Record<string, Rows64> =>
  Object.fromEntries(
    Object.entries(params).map(([k, v]) => [
      k,
      v.rank === 2 ? v.arraySync() as Rows64 : [Array.from(v.dataSync())],
    ]),
  );

interface MapCase {
  name: string;
  loss: (student: tf.Tensor[]) => tf.Scalar;
  ref: (student: Rows64[]) => number;
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`NST, VID and FitNets' hint on blocks: known answers and finite-difference gradients against float64 (${backend})`, async () => {
    await initBackend(backend, { log: false });
    const vid = new BlockVariationalInformation({
      studentChannels: studentShapes.map((s) => s[3]),
      teacherChannels: teacherShapes.map((s) => s[3]),
      seed: 4,
      initialVariance: 0.8,
    });
    const hint = new BlockFitNetHint({ studentChannels: 3, teacherChannels: 4, seed: 6 });
    // A bias that keeps some of the regressed entries below zero, where the ReLU cuts them.
    hint.params["hint.conv.b"].assign(tf.tensor1d([0.3, -0.2, 0.1, -0.4]));
    try {
      const vidHeads = hostParams(vid.params);
      const hintHeads = hostParams(hint.params);
      const cases: (MapCase & { heads?: [Record<string, tf.Variable>, typeof blockVid64] })[] = [
        {
          name: "NST",
          loss: (s) => neuronSelectivityTransfer(teacherMaps(), s),
          ref: (s) => nst64(teacherRows, s, B),
        },
        {
          name: "block VID",
          loss: (s) => vid.loss(teacherMaps(), s),
          ref: (s) => blockVid64(s, vidHeads),
          heads: [vid.params, blockVid64],
        },
        {
          name: "block hint",
          loss: (s) => hint.loss(teacherMaps()[1], s[1]),
          ref: (s) => hint64(s, hintHeads),
          heads: [hint.params, hint64],
        },
      ];
      for (const c of cases) {
        const student = () => studentRows.map((r, j) => toMap(r, studentShapes[j]));
        const value = tf.tidy(() => c.loss(student()).dataSync()[0]);
        close(value, c.ref(studentRows), 2e-5, `${c.name} value`);
        for (let j = 0; j < studentRows.length; j++) {
          if (c.name === "block hint" && j === 0) continue; // the hint reads block 1 only
          const numeric = numericGradient(
            (x) => c.ref(studentRows.map((r, k) => k === j ? x : r)),
            studentRows[j],
          ).flat();
          const grad = tf.tidy(() =>
            tf.grad((x: tf.Tensor) =>
              c.loss(
                studentRows.map((r, k) =>
                  k === j ? x.reshape(studentShapes[j]) : toMap(r, studentShapes[k])
                ),
              )
            )(tf.tensor2d(studentRows[j])).dataSync()
          );
          numeric.forEach((n, i) => close(grad[i], n, 3e-4, `${c.name} block ${j} grad[${i}]`));
        }
        if (!c.heads) continue;
        // The heads' gradients: every regressor weight and variance, against the reference.
        const [params, ref] = c.heads;
        const host = hostParams(params);
        const { grads, value: v } = tf.variableGrads(
          () => c.loss(student()),
          Object.values(params),
        );
        v.dispose();
        for (const [name, variable] of Object.entries(params)) {
          const numeric = numericGradient(
            (x) => ref(studentRows, { ...host, [name]: x }),
            host[name],
          )
            .flat();
          const g = grads[variable.name].dataSync();
          numeric.forEach((n, i) => close(g[i], n, 3e-4, `${c.name} ${name} grad[${i}]`));
        }
        tf.dispose(Object.values(grads));
      }
    } finally {
      vid.dispose();
      hint.dispose();
      await initBackend("cpu", { log: false });
    }
  });
}

Deno.test("neuronSelectivityTransfer: zero for the teacher's own patterns, scaled or permuted; finite at a dead block", () => {
  tf.tidy(() => {
    const maps = teacherMaps();
    const value = (s: tf.Tensor[]) => neuronSelectivityTransfer(maps, s).dataSync()[0];
    assert.ok(value(maps) < 1e-6);
    // Each channel's pattern is normalised, and the MMD compares sets of channels: scaling a
    // channel or reordering the channels changes nothing.
    const scaled = maps.map((m) => m.mul(tf.range(1, m.shape[3]! + 1)));
    assert.ok(value(scaled) < 1e-6, `scaled channels: ${value(scaled)}`);
    const reversed = maps.map((m) => tf.reverse(m, 3));
    assert.ok(value(reversed) < 1e-6, `permuted channels: ${value(reversed)}`);
    // A student whose first block is all zero (dead ReLUs): a finite loss and gradient.
    const dead = studentShapes.map((s, j) => j === 0 ? tf.zeros(s) : toMap(studentRows[j], s));
    assert.ok(Number.isFinite(value(dead)) && value(dead) > 0);
    const g = tf.grad((x: tf.Tensor) => neuronSelectivityTransfer(maps, [x, dead[1]]))(dead[0]);
    assert.ok(g.dataSync().every(Number.isFinite));
  });
});

Deno.test("flattenBlocks and unflattenBlocks: one row per example, and back", () => {
  tf.tidy(() => {
    const maps = teacherMaps();
    const rows = flattenBlocks(maps);
    assert.deepEqual(rows.shape, [B, 4 * 4 * 5 + 2 * 2 * 4]);
    const back = unflattenBlocks(rows, teacherShapes.map(([, h, w, c]) => [h, w, c]));
    back.forEach((m, j) => assert.deepEqual(m.arraySync(), maps[j].arraySync()));
    assert.throws(
      () => unflattenBlocks(rows, [[4, 4, 5], [2, 2, 3]]),
      /unflattenBlocks: rows must be \[B, 92\] to hold blocks of 4×4×5, 2×2×3 \(H×W×C\), got \[3,96\]/,
    );
  });
});

Deno.test("nst, vid_maps, fitnet_maps: the registry's objectives on block outputs, teacher targets flattened", () => {
  const studentMaps = studentRows.map((r, j) => toMap(r, studentShapes[j]));
  const channels = {
    studentChannels: studentShapes.map((s) => s[3]),
    teacherChannels: teacherShapes.map((s) => s[3]),
  };
  const nst = getLoss("nst", { teacherChannels: channels.teacherChannels, ceWeight: 0 });
  const vid = getLoss("vid_maps", { ...channels, seed: 4, initialVariance: 0.8, ceWeight: 0 });
  assert.ok(nst.needsMaps && vid.needsMaps);
  // The two share one teacher table: the raw block outputs.
  assert.equal(nst.mapTargetsKey, vid.mapTargetsKey);
  const targets = tf.tidy(() => nst.teacherMapTargets!(teacherMaps()));
  assert.deepEqual(targets.shape, [B, 96]);
  const inputs = { studentLogits: tf.zeros([B, 4]), teacherMapTargets: targets, studentMaps };
  const nstValue = tf.tidy(() => nst.loss(inputs).dataSync()[0]);
  close(nstValue, 50 * nst64(teacherRows, studentRows, B), 2e-5, "nst at weight 50");
  const reference = new BlockVariationalInformation({ ...channels, seed: 4, initialVariance: 0.8 });
  const heads = hostParams(reference.params);
  reference.dispose();
  assert.deepEqual(vid.variables!().map((v) => v.shape), [
    [2, 5],
    [5, 5],
    [5, 5],
    [5],
    [3, 4],
    [4, 4],
    [4, 4],
    [4],
  ]);
  const vidValue = tf.tidy(() => vid.loss(inputs).dataSync()[0]);
  close(vidValue, blockVid64(studentRows, heads), 2e-5, "vid_maps at weight 1");
  vid.dispose!();
  // FitNets' hint on the last block by default (block 1: 2×2 maps, 3 → 4 channels), weight 100.
  const fitnet = getLoss("fitnet_maps", { ...channels, seed: 6, ceWeight: 0 });
  assert.equal(fitnet.mapTargetsKey, nst.mapTargetsKey);
  const hint = new BlockFitNetHint({ studentChannels: 3, teacherChannels: 4, seed: 6 });
  const hintHeads = hostParams(hint.params);
  hint.dispose();
  const fitnetValue = tf.tidy(() => fitnet.loss(inputs).dataSync()[0]);
  close(fitnetValue, 100 * hint64(studentRows, hintHeads), 2e-5, "fitnet_maps at weight 100");
  fitnet.dispose!();
  const first = getLoss("fitnet_maps", { ...channels, seed: 6, ceWeight: 0, block: 0 });
  assert.deepEqual(first.variables!().map((v) => v.shape), [[3, 3, 2, 5], [5]]);
  first.dispose!();
  assert.throws(
    () => getLoss("fitnet_maps", { ...channels, seed: 6, block: 2 }),
    /fitnet_maps: config.block must be a block index in \[0, 1\], got 2/,
  );
  // The tour's minimal configs build all three.
  for (const name of ["nst", "vid_maps", "fitnet_maps"]) {
    const o = getLoss(name, minimalConfig(name));
    assert.ok(o.needsMaps);
    o.dispose?.();
  }
  assert.deepEqual(minimalConfig("nst"), { teacherChannels: MINIMAL_MAP_CHANNELS.teacherChannels });
  assert.throws(
    () => getLoss("vid_maps", { studentChannels: [2], teacherChannels: [5, 4], seed: 1 }),
    /BlockVariationalInformation: studentChannels and teacherChannels must list the channels of the same non-empty number of blocks/,
  );
  assert.throws(
    () => getLoss("nst", { teacherChannels: [0] }),
    /nst: config.teacherChannels must be a non-empty list of positive integers/,
  );
  tf.dispose([targets, ...studentMaps, inputs.studentLogits]);
});

Deno.test("NST, VID and FitNets' hint on blocks: named errors", () => {
  tf.tidy(() => {
    const maps = teacherMaps();
    const student = studentRows.map((r, j) => toMap(r, studentShapes[j]));
    assert.throws(
      () => neuronSelectivityTransfer(maps, [student[1], student[0]]),
      /neuronSelectivityTransfer: teacherMaps and studentMaps must pair block by block \(the same examples and spatial sizes\), got \[3,4,4,5\], \[3,2,2,4\] and \[3,2,2,3\], \[3,4,4,2\]/,
    );
    assert.throws(
      () => neuronSelectivityTransfer(maps, [student[0]]),
      /must pair block by block/,
    );
    assert.throws(
      () => neuronSelectivityTransfer(maps, [student[0].reshape([3, 32]), student[1]]),
      /studentMaps\[0\] must be a non-empty \[B, H, W, C\] tensor/,
    );
    const hint = new BlockFitNetHint({ studentChannels: 3, teacherChannels: 4, seed: 1 });
    assert.throws(
      () => hint.loss(maps[0], student[0]),
      /BlockFitNetHint: the regressor maps 3 student channels to 4 teacher channels, got \[3,4,4,2\] and \[3,4,4,5\]/,
    );
    assert.throws(
      () => hint.loss(maps[1], student[0]),
      /BlockFitNetHint: .*must pair block by block/,
    );
    assert.throws(
      () => hint.loss(maps[1], student[1].mul(Infinity)),
      /BlockFitNetHint: studentMaps contain NaN or Inf/,
    );
    hint.dispose();
    const nan = student.map((m, j) => j === 1 ? m.mul(NaN) : m);
    assert.throws(
      () => neuronSelectivityTransfer(maps, nan),
      /neuronSelectivityTransfer: studentMaps contain NaN or Inf/,
    );
  });
});
