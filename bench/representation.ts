/**
 * Benchmark of the representation-distillation losses (`lib/representation/`): the time of one
 * forward+backward of each loss in the student's features, at the representation notebook's
 * shapes (a batch of 128, 32-d student and 128-d teacher features): FitNets' hint, RKD (distances
 * and angles, B³ cosines), SP, PKT, CC, VID (its regressor 32→128→128→128 included), in-batch
 * CRD, and CRD's NCE over memory banks of 60,000 examples with K negatives per batch (the bank
 * update included); and in the CNN student's block outputs (`[128, 14, 14, 8]`, `[128, 7, 7, 16]`)
 * attention transfer against the teacher's cached maps (`[128, 245]`), NST, VID, FitNets and
 * factor transfer on the blocks against the teacher's cached raw outputs (16 and 32 channels,
 * `[128, 4704]`); and one step of factor transfer's first stage (`ft_paraphraser`: the
 * paraphraser's reconstruction of the teacher's last block `[128, 7, 7, 32]`, its gradient and its
 * AdamW update) and of AB's (`ab_first_stage`: the CNN student's and teacher's blocks before their
 * ReLU on 128 images, the AB loss, its gradient in the student's conv layers and the connectors,
 * and their AdamW update; AB's second stage is CE alone) and of FSP's (`fsp_first_stage`: both
 * CNNs' blocks, 16 and 32 channels, the FSP loss and its gradient in the student's conv layers, and
 * their update). On wasm (one thread) by default. Writes `bench/results/representation.json`.
 *
 * Usage: `deno task bench representation [--negatives 1024,4096,16384] [--repeats 10]`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { getLoss, type Objective } from "../lib/losses/mod.ts";
import { blockVariables, createCNN, disposeParams } from "../lib/models/mod.ts";
import { ActivationBoundary, FactorTransfer, trainStudentFlow } from "../lib/representation/mod.ts";
import { parseArgs } from "../tools/args.ts";
import { writeBenchResult } from "./harness.ts";
import { timeCalls } from "./timing.ts";

const [B, DS, DT, N] = [128, 32, 128, 60000];
/** The CNN student's block outputs (attention transfer), and the teacher's blocks' sides. */
const MAPS: [number, number, number, number][] = [[B, 14, 14, 8], [B, 7, 7, 16]];

/**
 * Median ms of one forward+backward of the objective in the student's features (or block outputs)
 * and heads.
 */
async function stepMs(objective: Objective, repeats: number): Promise<number> {
  const maps = objective.needsMaps === true;
  const student = maps
    ? MAPS.map((shape, j) => tf.variable(tf.randomUniform(shape, 0, 1, "float32", 1 + j)))
    : [tf.variable(tf.randomNormal([B, DS], 0, 1, "float32", 1))];
  const inputs = {
    studentLogits: tf.zeros([B, 10]),
    ...(maps
      ? {
        teacherMapTargets: tf.tidy(() =>
          objective.teacherMapTargets!(
            MAPS.map((s, j) => tf.randomUniform([B, s[1], s[2], 2 * s[3]], 0, 1, "float32", 5 + j)),
          )
        ),
      }
      : {
        teacherFeatures: tf.randomNormal([B, DT], 0, 1, "float32", 2),
        exampleIds: tf.tensor1d(Array.from({ length: B }, (_, i) => i * 397 % N), "int32"),
      }),
  };
  const variables = [...student, ...(objective.variables?.() ?? [])];
  const step = async () => {
    const { value, grads } = tf.variableGrads(
      () =>
        objective.loss({
          ...inputs,
          ...(maps ? { studentMaps: student } : { studentFeatures: student[0] }),
        }),
      variables,
    );
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  };
  const ms = (await timeCalls(step, repeats, 3)).median;
  tf.dispose([...student, ...Object.values(inputs)]);
  objective.dispose?.();
  return ms;
}

/**
 * Median ms of one step of AB's first stage: the CNN student's and teacher's pre-activations on a
 * batch of images, the AB loss through the connectors, its gradient in the student's conv blocks
 * and the connectors, and their AdamW update.
 */
async function boundaryStepMs(repeats: number): Promise<number> {
  const student = createCNN({ channels: MAPS.map((m) => m[3]), featureDim: DS, seed: 1 });
  const teacher = createCNN({ channels: MAPS.map((m) => 2 * m[3]), featureDim: DT, seed: 2 });
  const ab = new ActivationBoundary({
    studentChannels: MAPS.map((m) => m[3]),
    teacherChannels: MAPS.map((m) => 2 * m[3]),
    seed: 3,
  });
  const x = tf.randomUniform([B, 28, 28, 1], 0, 1, "float32", 11);
  const steps = 4;
  const ms = (await timeCalls(
    () =>
      ab.trainStudentBlocks(
        () => teacher.forward(x, { preactivations: true }).preMaps!,
        () => student.forward(x, { preactivations: true }).preMaps!,
        blockVariables(student),
        { steps },
      ),
    repeats,
    1,
  )).median / steps;
  x.dispose();
  ab.dispose();
  [student, teacher].forEach((m) => disposeParams(m.params));
  return ms;
}

/**
 * Median ms of one step of FSP's first stage: the teacher's and a CNN student's (with the
 * teacher's channels) block outputs on a batch of images, the FSP loss of their two blocks, its
 * gradient in the student's conv layers, and their AdamW update.
 */
async function flowStepMs(repeats: number): Promise<number> {
  const channels = MAPS.map((m) => 2 * m[3]);
  const student = createCNN({ channels, featureDim: 16, seed: 1 });
  const teacher = createCNN({ channels, featureDim: DT, seed: 2 });
  const x = tf.randomUniform([B, 28, 28, 1], 0, 1, "float32", 12);
  const steps = 4;
  const ms = (await timeCalls(
    () =>
      trainStudentFlow(
        () => teacher.forward(x, { maps: true }).maps!,
        () => student.forward(x, { maps: true }).maps!,
        blockVariables(student),
        { steps },
      ),
    repeats,
    1,
  )).median / steps;
  x.dispose();
  [student, teacher].forEach((m) => disposeParams(m.params));
  return ms;
}

/** Median ms of one step of factor transfer's first stage on the teacher's last block. */
async function paraphraserStepMs(repeats: number): Promise<number> {
  const [, h, w, c] = MAPS.at(-1)!;
  const ft = new FactorTransfer({ studentChannels: c, teacherChannels: 2 * c, seed: 1 });
  const block = tf.randomUniform([B, h, w, 2 * c], 0, 1, "float32", 9) as tf.Tensor4D;
  const steps = 4;
  const ms = (await timeCalls(() => ft.trainParaphraser(() => block, { steps }), repeats, 1))
    .median / steps;
  block.dispose();
  ft.dispose();
  return ms;
}

if (import.meta.main) {
  const { options } = parseArgs(Deno.args, ["negatives", "repeats", "backends"]);
  const repeats = Number(options.repeats ?? 10);
  const backend = String(options.backends ?? "wasm");
  const info = await initBackend(backend, { log: true });
  const heads = { studentDim: DS, teacherDim: DT, seed: 1, ceWeight: 0 };
  const cases: [string, Record<string, unknown>][] = [
    ["fitnet", heads],
    ["rkd", { ceWeight: 0 }],
    ["sp", { ceWeight: 0 }],
    ["pkt", { ceWeight: 0 }],
    ["cc", { ceWeight: 0 }],
    ["vid", heads],
    ["crd", heads],
    ["at", { ceWeight: 0 }],
    ["nst", { ceWeight: 0, teacherChannels: MAPS.map((m) => 2 * m[3]) }],
    ...["vid_maps", "fitnet_maps", "ft"].map((name) =>
      [name, {
        ceWeight: 0,
        seed: 1,
        studentChannels: MAPS.map((m) => m[3]),
        teacherChannels: MAPS.map((m) => 2 * m[3]),
        ...(name === "ft" ? { initSteps: 0 } : {}),
      }] as [string, Record<string, unknown>]
    ),
    ...String(options.negatives ?? "1024,4096,16384").split(",").map((k) =>
      ["crd_nce", { ...heads, dataSize: N, negatives: Number(k) }] as [
        string,
        Record<string, unknown>,
      ]
    ),
  ];
  const rows = [];
  for (const [name, config] of cases) {
    const ms = await stepMs(getLoss(name, config), repeats);
    const label = name === "crd_nce" ? `crd_nce K=${config.negatives}` : name;
    console.log(`${label.padEnd(20)} ${ms.toFixed(1)} ms`);
    rows.push({ loss: name, ...(name === "crd_nce" ? { negatives: config.negatives } : {}), ms });
  }
  const paraphraser = await paraphraserStepMs(repeats);
  console.log(`${"ft_paraphraser".padEnd(20)} ${paraphraser.toFixed(1)} ms`);
  rows.push({ loss: "ft_paraphraser", ms: paraphraser });
  const boundary = await boundaryStepMs(repeats);
  console.log(`${"ab_first_stage".padEnd(20)} ${boundary.toFixed(1)} ms`);
  rows.push({ loss: "ab_first_stage", ms: boundary });
  const flow = await flowStepMs(repeats);
  console.log(`${"fsp_first_stage".padEnd(20)} ${flow.toFixed(1)} ms`);
  rows.push({ loss: "fsp_first_stage", ms: flow });
  await writeBenchResult("representation", {
    backend: info.name,
    shapes: { batch: B, studentDim: DS, teacherDim: DT, dataSize: N, studentMaps: MAPS },
    repeats,
    results: rows,
  });
}
