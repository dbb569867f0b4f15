import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../backend.ts";
import { ImageBatcher } from "../data/mod.ts";
import { getLoss } from "../losses/mod.ts";
import { createGPT, createMLP } from "../models/mod.ts";
import { classifierTask, constantLr, loadCheckpoint, train, warmupCosine } from "../train/mod.ts";
import {
  AT_EXPONENT_ABLATION,
  AT_WEIGHT_ABLATION,
  ATTENTION_METHODS,
  ATTENTION_STUDENT,
  BLOCK_METHODS,
  BORN_AGAIN_GENERATIONS,
  bornAgainStudy,
  CC_WEIGHT_ABLATION,
  CNN_FEATURE_METHODS,
  CRD_NEGATIVE_ABLATION,
  CRD_NEGATIVES,
  dependencies,
  DIST_SWEEP_TEMPERATURES,
  DIST_WEIGHTS,
  distillmStudy,
  distSweepMethod,
  estimatedCost,
  fdistillStudy,
  FIRST_STAGE_STEPS,
  fitUnimodalStudent,
  FSP_METHODS,
  FSP_STUDENT,
  GAP_METHODS,
  MINILM_METHODS,
  MINILM_STARTS,
  miniLMStudy,
  modeMass,
  PATIENCE_METHODS,
  patientStudy,
  replayTAID,
  REPRESENTATION_METHODS,
  representationStudy,
  rowModeMass,
  runLanguageModel,
  runVision,
  scaledTAIDAlpha,
  seedNumbers,
  sparseKDStudy,
  stepsTrained,
  taidStudy,
  teacherGapStudy,
  teacherTargetRun,
  TEACHING_METHODS,
  toyModes,
  VISION_METHODS,
  visionRun,
  type VisionSpec,
  visionStudent,
  visionStudy,
} from "./mod.ts";
import { distortionMap, PHIS_METHODS, phisImages, phisStudy, phisTeachers } from "./mod.ts";
import { hadamardConstruction } from "../phis/mod.ts";

await initBackend("cpu", { log: false });

Deno.test("head/tail mass: known answers", () => {
  // 20 tokens: probabilities 20k/Σ for k = 20..1, descending.
  const raw = Array.from({ length: 20 }, (_, i) => 20 - i);
  const total = raw.reduce((a, b) => a + b, 0);
  const probs = raw.map((r) => r / total);
  const m = rowModeMass([...probs].reverse(), 10, 0.8);
  assert.ok(Math.abs(m.head - (20 + 19 + 18 + 17 + 16 + 15 + 14 + 13 + 12 + 11) / total) < 1e-12);
  assert.ok(Math.abs(m.tail - (4 + 3 + 2 + 1) / total) < 1e-12, "the least probable 20%");
  const two = modeMass(Float32Array.from([...probs, ...probs]), 20);
  assert.ok(Math.abs(two.head - m.head) < 1e-6);
  assert.throws(() => modeMass(new Float32Array(7), 3), /not rows of 3/);
});

Deno.test("replaying TAID's update reproduces the reference golden sequence", () => {
  // shared/reference/taid.md §2: losses 2.0, 1.8, 1.9, 1.5, 1.5 at N = 100000.
  const t = replayTAID([2.0, 1.8, 1.9, 1.5, 1.5, 1.5], { totalSteps: 100000 });
  [0.4, 0.4, 0.40015007, 0.40030007, 0.40045019, 0.40060026].forEach((g, i) =>
    assert.ok(Math.abs(t[i] - g) < 1e-8, `t[${i}] = ${t[i]} vs ${g}`)
  );
  const linear = replayTAID([2, 1.8, 1.9, 1.5, 1.5], { totalSteps: 10 });
  [0.4, 0.4, 0.46, 0.52, 0.58].forEach((g, i) => assert.ok(Math.abs(linear[i] - g) < 1e-12));
  assert.ok(Math.abs(scaledTAIDAlpha(15000) - 5e-4) < 1e-15);
});

Deno.test("the TAID study plan: every method × seed, a ≥4× smaller student, dependencies", () => {
  for (const scale of ["quick", "full"] as const) {
    const study = taidStudy(scale, 3);
    assert.equal(study.main.length, 12 * 3);
    assert.equal(new Set(study.main.map((r) => r.spec.name)).size, 36);
    const vocabSize = study.config.vocabSize;
    const count = (m: { nLayer: number; nHead: number; dModel: number }, ctx: number) =>
      createGPT({ ...m, vocabSize, contextLength: ctx, seed: 1 }).parameterCount;
    const ctx = study.config.contextLength;
    const teacher = count(study.teachers.main.model, ctx);
    const student = count(study.config.student.model, ctx);
    assert.ok(teacher >= 4 * student, `${scale}: teacher ${teacher} vs student ${student}`);
    const sizes = (["small", "main", "large"] as const).map((s) =>
      count(study.teachers[s].model, ctx)
    );
    assert.ok(sizes[0] < sizes[1] && sizes[1] < sizes[2], "teachers grow");
    const sft = study.main.find((r) => r.method === "sft")!.spec;
    assert.equal(sft.teacher, undefined);
    const delta = study.delta.find((r) => r.method === "delta_kd")!.spec;
    assert.deepEqual(dependencies(delta).map((s) => s.name).sort(), [
      `taid-${scale}-main-sft-s1`,
      `taid-${scale}-teacher-genre`,
      `taid-${scale}-teacher-main`,
    ]);
    assert.ok(estimatedCost(study.teachers.large) > estimatedCost(study.teachers.small));
    // The budget study: 3 methods at 1×, 2×, 4×, 8× the budget, every seed; 1× is the main
    // table's run, and TAID's α is scaled to each budget.
    const seeds = new Set(study.main.map((m) => m.seed)).size;
    assert.equal(study.budget.length, 12 * seeds);
    for (const r of study.budget.filter((b) => b.steps === study.config.student.steps)) {
      const main = study.main.find((m) => m.method === r.method && m.seed === r.seed)!;
      assert.deepEqual(r.spec, main.spec);
    }
    const taidAt = (steps: number, seed = 1) =>
      study.budget.find((b) => b.method === "taid" && b.steps === steps && b.seed === seed)!.spec;
    const n = study.config.student.steps;
    assert.equal(taidAt(8 * n).train.steps, 8 * n);
    assert.equal(taidAt(8 * n).objective.config!.alpha, scaledTAIDAlpha(8 * n));
    assert.ok(scaledTAIDAlpha(8 * n) < (taidAt(n).objective.config!.alpha as number));
    assert.equal(taidAt(4 * n, seeds).seed, seeds, "every seed at every budget");
    assert.equal(new Set(study.budget.map((b) => b.spec.name)).size, study.budget.length);
    // GKD: generalized JSD on a quarter-window prompt; the on-policy study's λ = 0.5 run is the
    // main table's, the others differ in λ alone, and generating costs more than it saves.
    const gkd = study.main.find((r) => r.method === "gkd" && r.seed === 1)!.spec;
    assert.deepEqual(gkd.objective, { name: "gjsd", config: { beta: 0.5 } });
    assert.deepEqual(gkd.onPolicy, { fraction: 0.5, promptLength: ctx / 4 });
    const seed1 = study.onPolicy.filter((r) => r.seed === 1);
    assert.deepEqual(seed1.map((r) => [r.start, r.fraction]), [
      ["scratch", 0],
      ["scratch", 0.5],
      ["scratch", 1],
      ["sft", 0],
      ["sft", 0.5],
      ["sft", 1],
    ]);
    assert.deepEqual(seed1[1].spec, gkd);
    const { name: _n, onPolicy: _o, ...rest } = seed1[2].spec;
    const { name: _n2, onPolicy: _o2, ...gkdRest } = gkd;
    assert.deepEqual(rest, gkdRest);
    for (const r of study.onPolicy.filter((r) => r.start === "sft")) {
      // Each seed fine-tunes the supervised student of its own seed.
      const sft = study.main.find((m) => m.method === "sft" && m.seed === r.seed)!.spec;
      assert.deepEqual(r.spec.init, sft);
      assert.equal(r.spec.onPolicy!.fraction, r.fraction);
    }
    for (const r of study.onPolicy.filter((r) => r.start === "scratch" && r.fraction === 0.5)) {
      assert.deepEqual(
        r.spec,
        study.main.find((m) => m.method === "gkd" && m.seed === r.seed)!.spec,
      );
    }
    assert.equal(study.onPolicy.length, 6 * seeds);
    assert.equal(new Set(study.onPolicy.map((r) => r.spec.name)).size, 6 * seeds);
    const costs = seed1.slice(0, 3).map((r) => estimatedCost(r.spec));
    assert.ok(costs[0] < costs[1] && costs[1] < costs[2], `${costs}`);
    // The capacity study: FKL and TAID from each teacher, every seed; the main teacher's runs are
    // the main table's.
    assert.equal(study.capacity.length, 6 * seeds);
    for (const r of study.capacity.filter((r) => r.size === "main")) {
      assert.deepEqual(
        r.spec,
        study.main.find((m) => m.method === r.method && m.seed === r.seed)!.spec,
      );
    }
    assert.equal(new Set(study.capacity.map((r) => r.spec.name)).size, 6 * seeds);
    assert.equal(study.main.find((r) => r.method === "fkl")!.spec.onPolicy, undefined);
  }
});

Deno.test("the DistiLLM study plan: 12 methods × seeds from the TAID study's supervised student", () => {
  for (const scale of ["quick", "full"] as const) {
    const study = distillmStudy(scale);
    const taid = taidStudy(scale, 1);
    assert.equal(study.runs.length, 12 * study.config.seeds * 2);
    assert.equal(new Set(study.runs.map((r) => r.spec.name)).size, study.runs.length);
    // Shared dependencies: the same specs (so the same run folders) as the TAID study's.
    assert.deepEqual(study.teacher, taid.teachers.main);
    assert.deepEqual(study.base, taid.main.find((r) => r.method === "sft" && r.seed === 1)!.spec);
    const P = Math.floor(taid.config.contextLength / 4);
    for (const r of study.runs) {
      const setting = study.config.settings.find((s) => s.name === r.setting)!;
      assert.deepEqual(r.spec.init, study.base);
      assert.deepEqual(r.spec.data.categories, [study.config.category]);
      assert.equal(r.spec.data.trainTokens, setting.trainTokens);
      assert.equal(r.spec.validateEvery, setting.validateEvery);
      assert.equal(r.spec.train.steps, setting.steps);
      // The small setting's epochs: its tokens are a whole number of steps' windows.
      const perStep = r.spec.train.batchSize * r.spec.train.contextLength;
      if (setting.trainTokens) assert.equal(setting.trainTokens / perStep, setting.validateEvery);
      // Exactly one source of outputs, with the same prompt length everywhere.
      const sources = [r.spec.onPolicy, r.spec.adaptiveOffPolicy, r.spec.miniLLM];
      assert.equal(sources.filter(Boolean).length, 1);
      assert.equal(sources.find(Boolean)!.promptLength, P);
      // MiniLLM's rollouts go with its objective, and only there; so does its L_PT.
      assert.equal(r.spec.miniLLM !== undefined, r.spec.objective.name === "minillm");
      assert.equal(r.spec.pretraining !== undefined, r.method === "minillm_pt");
    }
    const eps = study.runs.filter((r) => r.spec.adaptiveOffPolicy).map((r) =>
      r.spec.adaptiveOffPolicy!.lossEpsilon
    );
    assert.deepEqual([...new Set(eps)].sort(), [0, 0.1]);
    // The official 1000-sequence buffer, and one of two micro-batches that fills in our runs.
    const capacities = study.runs.filter((r) => r.spec.adaptiveOffPolicy).map((r) =>
      r.spec.adaptiveOffPolicy!.capacity ?? 1000
    );
    assert.deepEqual([...new Set(capacities)].sort((a, b) => a - b), [
      2 * study.base.train.batchSize,
      1000,
    ]);
    // MiniLLM with and without its long-term term, at 4× the genre setting's steps.
    assert.equal(study.budget.length, 2 * study.config.seeds);
    for (const r of study.budget) {
      const same = study.runs.find((x) =>
        x.setting === "genre" && x.method === r.method && x.seed === r.seed
      )!;
      assert.equal(r.spec.train.steps, 4 * same.spec.train.steps);
      assert.equal(r.spec.validateEvery, 4 * same.spec.validateEvery!);
      assert.deepEqual(r.spec.objective, same.spec.objective);
      assert.deepEqual(r.spec.miniLLM, same.spec.miniLLM);
    }
    assert.equal(new Set(study.budget.map((r) => r.spec.name)).size, study.budget.length);
    // The genre setting's runs keep the names (so the folders) they had before the small one.
    assert.ok(study.runs.some((r) => r.spec.name === `distillm-${scale}-skl-s1`));
    assert.ok(study.runs.some((r) => r.spec.name === `distillm-${scale}-small-skl-s1`));
  }
});

Deno.test("the f-distill study plan: 11 methods × seeds in DistiLLM's genre setting, 3 of them shared", () => {
  for (const scale of ["quick", "full"] as const) {
    const study = fdistillStudy(scale);
    const distillm = distillmStudy(scale);
    assert.equal(study.runs.length, 11 * distillm.config.seeds);
    assert.equal(new Set(study.runs.map((r) => r.spec.name)).size, study.runs.length);
    assert.deepEqual(study.teacher, distillm.teacher);
    const genre = distillm.runs.filter((r) => r.setting === "genre");
    const kd = genre.find((r) => r.method === "kd" && r.seed === 1)!.spec;
    const P = kd.onPolicy!.promptLength;
    for (const r of study.runs) {
      const shared = genre.find((x) => x.method === r.distillm && x.seed === r.seed);
      if (r.distillm) {
        // SFT, KD and RKL on the data are the DistiLLM study's runs, trained once.
        assert.deepEqual(r.spec, shared!.spec);
        continue;
      }
      assert.equal(r.spec.name, `fdistill-${scale}-${r.method}-s${r.seed}`);
      // Everything but the objective and the outputs is the DistiLLM genre setting's.
      const { name: _n, objective: _o, seed: _s, onPolicy: _p, sequenceSamples: _q, ...rest } =
        r.spec;
      const { name: _n2, objective: _o2, seed: _s2, onPolicy: _p2, ...kdRest } = kd;
      assert.deepEqual(rest, kdRest);
      const sources = [r.spec.onPolicy, r.spec.sequenceSamples].filter(Boolean);
      assert.equal(sources.length, 1);
      assert.equal(sources[0]!.promptLength, P);
      assert.equal(r.spec.onPolicy?.fraction ?? 0, 0);
      const sides: string[] = r.spec.sequenceSamples?.sides ?? [];
      // f-distill's objective gets the samples it needs.
      const needs = getLoss(r.spec.objective.name, r.spec.objective.config).needsSamples ?? [];
      assert.ok(needs.every((side) => sides.includes(side)), r.method);
      assert.deepEqual(
        sides,
        { data: [], teacher: ["teacher"], student: ["student"], both: ["teacher", "student"] }[
          r.outputs
        ],
      );
    }
    const methods = [...new Set(study.runs.map((r) => r.method))];
    assert.deepEqual(methods, [
      "sft",
      "kl_data",
      "rkl_data",
      "js_data",
      "tvd_data",
      "seqkd",
      "seqkd_greedy",
      "kl",
      "rkl",
      "js",
      "tvd",
    ]);
    // Greedy SeqKD is the only method that does not sample at temperature 1.
    for (const r of study.runs.filter((r) => r.spec.sequenceSamples)) {
      assert.equal(r.spec.sequenceSamples!.temperature ?? 1, r.method === "seqkd_greedy" ? 0 : 1);
    }
  }
});

Deno.test("the sparse-KD study plan: 7 methods × seeds on the same aligned windows from the TAID teacher", () => {
  for (const scale of ["quick", "full"] as const) {
    const study = sparseKDStudy(scale);
    assert.deepEqual(study.teacher, taidStudy(scale, 1).teachers.main);
    assert.equal(study.runs.length, 7 * study.seeds);
    assert.equal(new Set(study.runs.map((r) => r.spec.name)).size, study.runs.length);
    const ce = study.runs[0].spec;
    for (const r of study.runs) {
      // Everything but the objective, teacher and targets is the same for every method.
      const {
        name: _n,
        objective: _o,
        seed: _s,
        teacher: _t,
        sparseTargets,
        alignedWindows,
        ...rest
      } = r.spec;
      const { name: _n2, objective: _o2, seed: _s2, alignedWindows: _a, ...ceRest } = ce;
      assert.deepEqual(rest, ceRest);
      // Every method draws aligned windows; the sparse ones read the cache of their sparsifier.
      assert.ok(alignedWindows || sparseTargets, r.method);
      assert.equal(Boolean(sparseTargets), r.spec.objective.name === "sparse_kd");
      assert.equal(r.spec.teacher === undefined, r.method === "ce");
      assert.equal((ce.data.trainTokens! - 1) % ce.train.contextLength, 0);
    }
    assert.ok(
      estimatedCost(study.runs.find((r) => r.method === "rs64")!.spec) <
        estimatedCost(study.runs.find((r) => r.method === "kd")!.spec),
    );
  }
});

Deno.test("an LM spec with sparseTargets builds its teacher's cache once and shares it across seeds", async () => {
  await initBackend("wasm", { log: false });
  const root = await Deno.makeTempDir();
  try {
    const study = sparseKDStudy("quick");
    const [s1] = study.runs.filter((r) => r.method === "rs16").map((r) => r.spec);
    const shrink = (spec: typeof s1, seed: number) => ({
      ...spec,
      name: `t-${spec.name}`,
      seed,
      train: { ...spec.train, steps: 3 },
    });
    const a = await runLanguageModel(shrink(s1, 1), { root });
    const cache = teacherTargetRun(shrink(s1, 1), root);
    const built = cache.summary();
    assert.equal(built.windows, 128);
    assert.ok(
      (built.entriesPerPosition as number) > 1 && (built.entriesPerPosition as number) <= 16,
    );
    const b = await runLanguageModel(shrink(s1, 2), { root });
    assert.equal(teacherTargetRun(shrink(s1, 2), root).id, cache.id);
    assert.deepEqual(cache.summary(), built); // read, not rebuilt
    assert.ok(Number.isFinite(a.val_ce) && Number.isFinite(b.val_ce) && a.val_ce !== b.val_ce);
  } finally {
    await tf.setBackend("cpu");
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the MiniLM study plan: 12 distillation methods, 13 fine-tuning starts, paired by seed", () => {
  for (const scale of ["quick", "full"] as const) {
    const study = miniLMStudy(scale);
    const taid = taidStudy(scale, 1);
    const seeds = study.config.seeds;
    assert.deepEqual(study.teacher, taid.teachers.main);
    assert.deepEqual(study.largeTeacher, taid.teachers.large);
    assert.equal(study.distill.length, MINILM_METHODS.length * seeds);
    assert.equal(study.finetune.length, MINILM_STARTS.length * seeds);
    assert.equal(study.assistants.length, seeds);
    const names = [...study.assistants, ...study.distill, ...study.finetune].map((r) =>
      r.spec.name
    );
    assert.equal(new Set(names).size, names.length);
    assert.equal(MINILM_METHODS.length, 12);
    const student = study.distill[0].spec.model;
    for (const d of study.distill) {
      // MiniLM compares attention head by head; every student has the same size and budget, and
      // only MiniLMv2's second student splits its width into other heads.
      const large = d.method.startsWith("large_");
      const teacher = large ? study.largeTeacher : study.teacher;
      const heads = teacher.model.nHead / (d.method === "minilmv2_half" ? 2 : 1);
      assert.equal(d.spec.model.nHead, heads);
      assert.deepEqual(d.spec.model, { ...student, nHead: heads });
      assert.equal(d.spec.train.steps, study.config.distill.steps);
      assert.equal(d.spec.teacher === undefined, d.method === "sft");
      assert.equal(d.spec.data.categories, undefined, "distilled on all of Brown");
      if (d.spec.teacher && d.method !== "large_minilm_ta") {
        assert.deepEqual(d.spec.teacher, teacher);
      }
      // The upper-middle layer: the one below the teacher's last.
      const layer = (d.spec.objective.config as { teacherLayer?: number } | undefined)
        ?.teacherLayer;
      assert.equal(layer, d.method.endsWith("_upper") ? teacher.model.nLayer - 1 : undefined);
    }
    // The assistant: the large teacher's depth and heads, the student's width, MiniLM from the
    // large teacher with the students' budget; it then teaches the large_minilm_ta student.
    for (const { seed, spec } of study.assistants) {
      assert.deepEqual(spec.teacher, study.largeTeacher);
      assert.deepEqual(spec.model, { ...study.largeTeacher.model, dModel: student.dModel });
      assert.deepEqual(spec.objective, { name: "minilm" });
      assert.equal(spec.seed, seed);
      assert.equal(spec.train.steps, study.config.distill.steps);
      const ta = study.distill.find((d) => d.method === "large_minilm_ta" && d.seed === seed)!;
      assert.deepEqual(ta.spec.teacher, spec);
      assert.deepEqual(ta.spec.objective, { name: "minilm" });
    }
    for (const f of study.finetune) {
      assert.deepEqual(f.spec.data.categories, [study.config.finetune.category]);
      assert.equal(f.spec.objective.name, "sft");
      assert.equal(f.spec.teacher, undefined);
      const init = study.distill.find((d) => d.method === f.start && d.seed === f.seed)?.spec;
      assert.deepEqual(f.spec.init, init);
      if (init) assert.deepEqual(f.spec.model, init.model);
      assert.equal(f.start === "scratch", init === undefined);
    }
    const at = study.distill.find((d) => d.method === "minilm_at")!.spec.objective;
    assert.deepEqual(at, { name: "minilm", config: { valueWeight: 0 } });
    for (const method of ["minilmv2", "minilmv2_half", "large_minilmv2"]) {
      const v2 = study.distill.find((d) => d.method === method)!.spec;
      assert.deepEqual(v2.objective, { name: "minilmv2", config: { relationHeads: 8 } });
      // A_r divides both widths.
      assert.equal(v2.teacher!.model.dModel % 8 + v2.model.dModel % 8, 0);
    }
  }
  // The runs committed before the larger-teacher methods keep their specs (so their folders).
  const [minilm, half] = ["minilm", "minilmv2_half"].map((m) =>
    miniLMStudy("full").distill.find((d) => d.method === m && d.seed === 1)!.spec
  );
  assert.deepEqual(minilm.model, { nLayer: 2, nHead: 4, dModel: 64 });
  assert.deepEqual(half.model, { nLayer: 2, nHead: 2, dModel: 64 });
  assert.deepEqual(minilm.objective, { name: "minilm" });
});

Deno.test("the vision study plan: methods × seeds × settings, defense at four temperatures", () => {
  const study = visionStudy("full", 3);
  assert.equal(study.main.length, VISION_METHODS.length * 3 * 3);
  assert.deepEqual(study.defense.map((d) => d.T), [1, 20, 50, 100]);
  const psKD = study.main.find((r) => r.method === "ps_kd")!.spec;
  assert.ok(psKD.selfDistill && !psKD.teacher);
  assert.ok(study.main.find((r) => r.method === "dual_head")!.spec.model.config.auxHead);
  assert.equal(study.main.find((r) => r.setting === "fewshot")!.spec.fewShot, 0.05);
  // Other studies reuse the main table's students by their key.
  const kd = study.main.find((r) =>
    r.dataset === "mnist" && r.setting === "full" && r.method === "kd" && r.seed === 2
  )!;
  assert.equal(visionStudent(study, "mnist", "full", "kd", 2), kd.spec);
  assert.throws(
    () => visionStudent(study, "mnist", "fewshot", "kd", 2),
    /visionStudent: the study has no kd student on mnist \(fewshot\) with seed 2/,
  );
});

Deno.test("runVision: a student that sees an epoch distils from the teacher's logit table", async () => {
  await initBackend("wasm", { log: false });
  const root = await Deno.makeTempDir();
  try {
    const train = { batchSize: 64, peakLr: 5e-3, warmupSteps: 1, weightDecay: 0 };
    const teacher: VisionSpec = {
      name: "t",
      dataset: "mnist",
      fewShot: 0.05,
      model: { kind: "mlp", config: { hidden: [16] } },
      train: { ...train, steps: 20 },
      objective: { name: "sft" },
      seed: 1,
      testExamples: 200,
    };
    // 5% of MNIST's 8,571 training images is ~430: 8 steps of 64 see every one of them.
    const student: VisionSpec = {
      ...teacher,
      name: "s",
      model: { kind: "mlp", config: { hidden: [8] } },
      train: { ...train, steps: 8 },
      objective: { name: "kd" },
      teacher,
    };
    const before = tf.memory().numTensors;
    // Two claimants at once (as two notebooks sharing a teacher would be): the run's lock lets one
    // train the teacher and the student while the other waits, then reads both back.
    const [s, twin] = await Promise.all([
      runVision(student, { root }),
      runVision(student, { root }),
    ]);
    assert.equal(twin.seconds, s.seconds, "the waiting claimant read the finished run back");
    const steps = visionRun(student, root).rows.filter((r) => r.kind === "train").map((r) =>
      r.step
    );
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8], "trained once");
    assert.ok((s.train_examples as number) <= 8 * 64, "the run covers an epoch");
    assert.ok(Number.isFinite(s.final_loss as number) && s.test_acc > 0.1);
    assert.ok(s.agreement > 0 && s.teacher_acc > 0.3);
    assert.equal(tf.memory().numTensors - before, 0, "models and the table's tensors are freed");
    // Finished runs are read back, not retrained (the same wall time is the recorded one).
    const again = await runVision(student, { root });
    assert.equal(again.seconds, s.seconds);
    assert.equal(again.final_loss, s.final_loss);
    // Function matching: the teacher runs on every mixed view (no table), and measureFit reports
    // the fit to the teacher on the transfer images and on the test images.
    const before2 = tf.memory().numTensors;
    const viewed = await runVision({
      ...student,
      name: "v",
      objective: { name: "fkl" },
      augment: { views: { maxShift: 2, mixup: 1 } },
      measureFit: true,
    }, { root });
    for (const k of ["train_kl", "test_kl", "train_agreement", "train_acc"]) {
      assert.ok((viewed[k] as number) > 0 && Number.isFinite(viewed[k] as number), k);
    }
    assert.equal(s.train_kl, undefined);
    assert.equal(tf.memory().numTensors - before2, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the patient-teacher study plan: six ways of teaching × budgets × seeds from the vision teacher", () => {
  const study = patientStudy("full", 3);
  // Three budgets for every method, a fourth (2048 epochs) for fixed, consistent and funmatch.
  assert.equal(study.students.length, (TEACHING_METHODS.length * 3 + 3) * 3);
  assert.deepEqual(
    [...new Set(study.students.filter((s) => s.epochs === 2048).map((s) => s.method))],
    PATIENCE_METHODS,
  );
  assert.deepEqual(study.teacher, visionStudy("full", 1).teachers.fashion);
  const spec = (method: string, epochs = 512, seed = 1) =>
    study.students.find((s) => s.method === method && s.epochs === epochs && s.seed === seed)!
      .spec;
  // 512 passes over 1,200 images in batches of 128: 4,800 steps; the run ids differ by budget.
  assert.equal(spec("funmatch").train.steps, 4800);
  assert.equal(spec("funmatch", 32).train.steps, 300);
  assert.equal(spec("funmatch", 2048).train.steps, 19200);
  assert.equal(new Set(study.students.map((s) => visionRun(s.spec, "/tmp/x").id)).size, 63);
  assert.deepEqual(spec("funmatch").augment, {
    views: { maxShift: 3, mixup: 1 },
    teacher: "same",
  });
  assert.equal(spec("independent").augment!.teacher, "independent");
  assert.equal(spec("fixed_views").augment!.teacher, "clean");
  assert.equal(spec("fixed").augment, undefined);
  assert.ok(!spec("ce").teacher && spec("ce").objective.name === "sft");
  assert.ok(study.students.every((s) => s.spec.fewShot === 0.02 && s.spec.measureFit));
  // The same transfer set for every method of a seed: the few-shot subset is drawn by the seed.
  assert.equal(spec("fixed", 32, 2).seed, spec("funmatch", 512, 2).seed);
});

Deno.test("the capacity-gap study plan: a teacher ladder (early-stopped, assistant) × objectives × seeds", () => {
  const study = teacherGapStudy("full", 3);
  const vision = visionStudy("full", 3);
  const cnn = vision.teachers.fashion;
  assert.deepEqual(
    study.teachers.map((t) => t.teacher),
    [
      "mlp128",
      "mlp512",
      "cnn_small",
      "cnn_es25",
      "cnn_es50",
      "cnn_short25",
      "cnn_short50",
      "cnn",
      "ta",
      "ta_t1",
    ],
  );
  const teacher = (key: string) => study.teachers.find((t) => t.teacher === key)!.spec;
  assert.deepEqual(teacher("cnn"), cnn);
  // The early-stopped teachers are the CNN's own schedule, stopped at 750 and 1,500 of 3,000 steps.
  assert.deepEqual(teacher("cnn_es25").train, { ...cnn.train, stopAfter: 750 });
  assert.equal(stepsTrained(teacher("cnn_es50")), 1500);
  assert.deepEqual(teacher("cnn_es50").model, cnn.model);
  // The short-schedule CNNs train to the end of a schedule of 750 and 1,500 steps.
  assert.deepEqual(teacher("cnn_short25").train, { ...cnn.train, steps: 750, warmupSteps: 38 });
  assert.equal(stepsTrained(teacher("cnn_short50")), 1500);
  // The assistant has the small MLP teacher's size and budget, distilled from the CNN with KD.
  assert.deepEqual(teacher("ta").model, teacher("mlp128").model);
  assert.deepEqual(teacher("ta").teacher, cnn);
  assert.equal(teacher("ta").objective.name, "kd");
  // The second assistant: the same, distilled with KD at T = 1.
  assert.deepEqual(
    { ...teacher("ta_t1"), name: "", objective: undefined },
    { ...teacher("ta"), name: "", objective: undefined },
  );
  assert.deepEqual(teacher("ta_t1").objective, {
    name: "kd",
    config: { temperature: 1, ceWeight: 0.1, kdWeight: 0.9 },
  });
  assert.equal(teacher("mlp128").objective.name, "sft");
  // ce × seeds, then every objective × teacher × seed; KD from the CNN and CE are the vision study's.
  assert.equal(GAP_METHODS.length, 7);
  assert.equal(
    study.students.length,
    3 + GAP_METHODS.length * 10 * 3 + DIST_WEIGHTS.length * DIST_SWEEP_TEMPERATURES.length * 3,
  );
  assert.equal(
    new Set(study.students.map((s) => visionRun(s.spec, "/tmp/x").id)).size,
    192 + 21 + 24,
  );
  // The DIST sweep: the CNN teacher, the CE student's run, each (β, γ) at τ = 4 and 1.
  assert.equal(distSweepMethod(1, 0, 4), "dist_b1g0");
  assert.equal(distSweepMethod(0, 1, 1), "dist_b0g1_t1");
  const sweep = study.students.filter((s) => /^dist_b/.test(s.method));
  assert.equal(sweep.length, 24);
  assert.ok(sweep.every((s) => s.teacher === "cnn"));
  for (const s of sweep) assert.deepEqual(s.spec.teacher, cnn);
  assert.deepEqual(
    sweep.find((s) => s.method === "dist_b0g1_t1" && s.seed === 2)!.spec.objective,
    { name: "dist", config: { temperature: 1, beta: 0, gamma: 1, ceWeight: 1 } },
  );
  const student = (method: string, t: string, seed = 1) =>
    study.students.find((s) => s.method === method && s.teacher === t && s.seed === seed)!.spec;
  const shared = (method: string, seed: number) =>
    vision.main.find((r) =>
      r.dataset === "fashion-mnist" && r.setting === "full" && r.method === method &&
      r.seed === seed
    )!.spec;
  assert.deepEqual(student("kd", "cnn", 2), shared("kd", 2));
  assert.deepEqual(study.students[0].spec, shared("ce", 1));
  // Every other student is the CE student's run with another objective and a teacher.
  const { name: _n, objective: _o, teacher: _t, ...rest } = student("dist", "ta", 3);
  const { name: _n2, objective: _o2, ...ce } = shared("ce", 3);
  assert.deepEqual(rest, ce);
  assert.deepEqual(student("taid", "mlp512").objective, {
    name: "taid",
    config: { totalSteps: 4000 },
  });
  assert.deepEqual(student("kd_ls", "cnn_small").objective.config, {
    temperature: 2,
    ceWeight: 0.1,
    kdWeight: 9,
    standardize: true,
  });
  assert.deepEqual(student("dist", "cnn").teacher, cnn);
  // At T = 1, KD and DIST keep their weights: only the temperature changes.
  assert.deepEqual(student("dist_t1", "cnn").objective.config, {
    ...student("dist", "cnn").objective.config,
    temperature: 1,
  });
  assert.deepEqual(student("kd_t1", "cnn").objective.config, {
    ...student("kd", "cnn").objective.config,
    temperature: 1,
  });
});

Deno.test("the born-again plan: chains of generations per width and seed, with label-trained controls", () => {
  const runs = bornAgainStudy("full", 3);
  const G = BORN_AGAIN_GENERATIONS.full;
  // Two widths × 3 seeds × (generation 0 + G generations of two chains + G controls).
  assert.equal(runs.length, 2 * 3 * (1 + 3 * G));
  assert.equal(new Set(runs.map((r) => visionRun(r.spec, "/tmp/x").id)).size, runs.length);
  const find = (width: number, seed: number, generation: number, kind = "ban") =>
    runs.find((r) =>
      r.width === width && r.seed === seed && r.generation === generation && r.kind === kind
    )!.spec;
  const vision = visionStudy("full", 3).main;
  // Width 32's generation 0 is the vision study's label-trained student of that seed.
  assert.deepEqual(
    find(32, 2, 0),
    vision.find((r) =>
      r.method === "ce" && r.seed === 2 && r.setting === "full" &&
      r.dataset === "fashion-mnist"
    )!.spec,
  );
  for (const width of [32, 128]) {
    for (let k = 1; k <= G; k++) {
      const student = find(width, 3, k);
      // Born again from the previous generation, on its outputs alone, from a fresh seed.
      assert.deepEqual(student.teacher, find(width, 3, k - 1));
      assert.equal(student.objective.name, "fkl");
      assert.equal(student.seed, 3 + 100 * k);
      assert.deepEqual(student.model, { kind: "mlp", config: { hidden: [width] } });
      // The chain that keeps the labels: ½·CE + ½·KL from its own previous generation.
      const withLabels = find(width, 3, k, "ban_labels");
      assert.deepEqual(
        withLabels.teacher,
        k === 1 ? find(width, 3, 0) : find(width, 3, k - 1, "ban_labels"),
      );
      assert.deepEqual(withLabels.objective, {
        name: "kd",
        config: { temperature: 1, ceWeight: 0.5, kdWeight: 0.5 },
      });
      assert.equal(withLabels.seed, student.seed);
      // The control: the same network and seed, on the labels.
      const control = find(width, 3, k, "ce");
      assert.equal(control.seed, student.seed);
      assert.equal(control.objective.name, "sft");
      assert.equal(control.teacher, undefined);
      assert.deepEqual(control.train, student.train);
    }
  }
  assert.equal(find(128, 1, 0).objective.name, "sft");
  assert.equal(bornAgainStudy("quick", 1).filter((r) => r.kind === "ban").length, 2 * 3);
});

Deno.test("runVision: train.stopAfter stops part-way through the full schedule", async () => {
  await initBackend("wasm", { log: false });
  const root = await Deno.makeTempDir();
  try {
    const spec: VisionSpec = {
      name: "es",
      dataset: "mnist",
      fewShot: 0.02,
      model: { kind: "mlp", config: { hidden: [8] } },
      train: {
        steps: 20,
        batchSize: 32,
        peakLr: 5e-3,
        warmupSteps: 2,
        weightDecay: 0,
        stopAfter: 7,
      },
      objective: { name: "sft" },
      seed: 1,
      testExamples: 100,
    };
    const summary = await runVision(spec, { root });
    assert.equal(summary.steps, 7);
    const rows = visionRun(spec, root).rows.filter((r) => r.kind === "train");
    assert.deepEqual(rows.map((r) => r.step), [1, 2, 3, 4, 5, 6, 7]);
    // The learning rates are the 20-step schedule's, not a 7-step one's (which would end at 10%).
    const schedule = warmupCosine({ peakLr: 5e-3, totalSteps: 20, warmupSteps: 2 });
    rows.forEach((r, i) => assert.ok(Math.abs((r.lr as number) - schedule(i)) < 1e-12, `lr ${i}`));
    assert.ok((rows[6].lr as number) > 3e-3);
    for (const stopAfter of [0, 21, 2.5]) {
      await assert.rejects(
        () => runVision({ ...spec, name: "bad", train: { ...spec.train, stopAfter } }, { root }),
        new RegExp(
          `bad: train.stopAfter must be an integer in \\[1, train.steps = 20\\], got ${stopAfter}`,
        ),
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("seedNumbers: 1..n, and a named error for anything but a positive integer", () => {
  assert.deepEqual(seedNumbers(3), [1, 2, 3]);
  for (const bad of [0, -1, 2.5, NaN]) {
    assert.throws(
      () => seedNumbers(bad),
      /seedNumbers: the number of seeds must be a positive integer/,
    );
  }
});

Deno.test("the representation plan: the vision study's CE and KD students, each feature method without and with KD", () => {
  const { teacher, students } = representationStudy("full", 3);
  const vision = visionStudy("full", 3);
  assert.deepEqual(teacher, vision.teachers.fashion);
  const perSeed = 3 + 2 * REPRESENTATION_METHODS.length + CRD_NEGATIVE_ABLATION.length +
    CC_WEIGHT_ABLATION.length + ATTENTION_METHODS.length + BLOCK_METHODS.length +
    CNN_FEATURE_METHODS.length + FSP_METHODS.length +
    AT_WEIGHT_ABLATION.length +
    AT_EXPONENT_ABLATION.length;
  assert.equal(students.length, 3 * perSeed);
  assert.equal(new Set(students.map((s) => visionRun(s.spec, "/tmp/x").id)).size, students.length);
  const find = (method: string, seed: number) =>
    students.find((s) => s.method === method && s.seed === seed)!;
  for (const m of ["ce", "kd"]) {
    assert.deepEqual(find(m, 2).spec, visionStudent(vision, "fashion-mnist", "full", m, 2));
  }
  const ce = find("ce", 3).spec;
  for (const family of REPRESENTATION_METHODS) {
    const plain = find(family, 3), withKD = find(`${family}+kd`, 3);
    // CRD's NCE draws CRD_NEGATIVES negatives per batch; the others use their defaults.
    const own = family === "crd_nce" ? { negatives: CRD_NEGATIVES } : undefined;
    assert.deepEqual(plain.spec.objective, own ? { name: family, config: own } : { name: family });
    assert.deepEqual(withKD.spec.objective, { name: family, config: { ...own, kdWeight: 1 } });
    assert.ok(withKD.withKD && !plain.withKD && plain.family === family);
    // The same student network, data, schedule and seed as the label-trained one; the CNN teacher.
    for (const s of [plain.spec, withKD.spec]) {
      assert.deepEqual(
        { ...s, name: "", objective: undefined, teacher: undefined },
        { ...ce, name: "", objective: undefined, teacher: undefined },
      );
      assert.deepEqual(s.teacher, teacher);
    }
  }
  assert.equal(find("crd+kd", 1).spec.name, "repkd-full-crd_kd-s1");
  // The negatives ablation: CRD's NCE with fewer negatives, otherwise the same run.
  const fewer = find("crd_nce_k1024", 2);
  assert.deepEqual(fewer.spec.objective, { name: "crd_nce", config: { negatives: 1024 } });
  assert.deepEqual(
    { ...fewer.spec, name: "", objective: undefined },
    { ...find("crd_nce", 2).spec, name: "", objective: undefined },
  );
  assert.equal(fewer.negatives, 1024);
  assert.equal(find("crd_nce", 2).negatives, CRD_NEGATIVES);
  // CC's weight ablation: CC at another weight, otherwise the same run.
  for (const weight of CC_WEIGHT_ABLATION) {
    const cc = find(`cc_w${weight}`, 3);
    assert.deepEqual(cc.spec.objective, { name: "cc", config: { weight } });
    assert.deepEqual(
      { ...cc.spec, name: "", objective: undefined },
      { ...find("cc", 3).spec, name: "", objective: undefined },
    );
    assert.equal(cc.family, "cc");
    assert.equal(cc.withKD, false);
  }
  assert.equal(representationStudy("quick", 1).students.length, perSeed);
  // The KD control with the feature methods' CE weight: the same run as theirs but the objective.
  const control = find("kd_ce1", 1);
  assert.deepEqual(control.spec.objective, {
    name: "kd",
    config: { temperature: 4, ceWeight: 1, kdWeight: 1 },
  });
  assert.deepEqual(
    { ...control.spec, name: "", objective: undefined },
    { ...find("sp", 1).spec, name: "", objective: undefined },
  );
  // Attention transfer: the CNN student on the same data, schedule, seed and teacher, by objective.
  const isFlow = (s: { method: string }) => (FSP_METHODS as readonly string[]).includes(s.method);
  assert.ok(
    students.filter((s) => s.student === "cnn").every((s) =>
      s.spec.model === (isFlow(s) ? FSP_STUDENT : ATTENTION_STUDENT)
    ),
  );
  assert.ok(students.filter((s) => s.student === "mlp").every((s) => s.spec.model.kind === "mlp"));
  const cnn = find("cnn_ce", 2);
  assert.deepEqual(cnn.spec.objective, ce.objective);
  assert.deepEqual(find("cnn_kd", 2).spec.objective, find("kd", 2).spec.objective);
  assert.deepEqual(find("cnn_kd_ce1", 2).spec.objective, control.spec.objective);
  assert.deepEqual(find("at", 2).spec.objective, { name: "at" });
  assert.deepEqual(find("at+kd", 2).spec.objective, { name: "at", config: { kdWeight: 1 } });
  assert.deepEqual(find("at_w100", 2).spec.objective, { name: "at", config: { weight: 100 } });
  assert.deepEqual(find("at_p4", 2).spec.objective, { name: "at", config: { p: 4 } });
  for (
    const m of [
      ...ATTENTION_METHODS,
      ...AT_WEIGHT_ABLATION.map((w) => `at_w${w}`),
      ...AT_EXPONENT_ABLATION.map((q) => `at_p${q}`),
    ]
  ) {
    const s = find(m, 2);
    assert.deepEqual(
      { ...s.spec, name: "", objective: undefined },
      { ...cnn.spec, name: "", objective: undefined },
      m,
    );
    assert.equal(s.family, m.startsWith("at") ? "at" : "none", m);
    assert.equal(s.withKD, m === "at+kd" || m.startsWith("cnn_kd"), m);
  }
  assert.equal(find("at+kd", 1).spec.name, "repkd-full-at_kd-s1");
  // NST, VID, FitNets, FT and AB on the blocks: the same run as AT's but for the objective, no
  // KD; FT's paraphraser and AB's student blocks train FIRST_STAGE_STEPS first.
  for (const m of BLOCK_METHODS) {
    const s = find(m, 3);
    assert.deepEqual(
      s.spec.objective,
      m === "ft" || m === "ab"
        ? { name: m, config: { initSteps: FIRST_STAGE_STEPS.full } }
        : { name: m },
    );
    assert.deepEqual(
      { ...s.spec, name: "", objective: undefined },
      { ...find("at", 3).spec, name: "", objective: undefined },
    );
    assert.ok(s.student === "cnn" && s.family === m && !s.withKD);
    assert.equal(s.spec.name, `repkd-full-${m}-s3`);
  }
  // FSP and its controls: cnn_ce's and cnn_kd's runs with the student of the teacher's channels.
  for (const m of FSP_METHODS) {
    const s = find(m, 2);
    const base = find(m === "wide_kd" ? "cnn_kd" : "cnn_ce", 2);
    assert.deepEqual(
      { ...s.spec, name: "", objective: undefined, model: undefined },
      { ...base.spec, name: "", objective: undefined, model: undefined },
    );
    assert.deepEqual(s.spec.model, FSP_STUDENT);
    assert.deepEqual(
      s.spec.objective,
      m === "fsp"
        ? { name: "fsp", config: { initSteps: FIRST_STAGE_STEPS.full } }
        : base.spec.objective,
    );
    assert.equal(s.withKD, m === "wide_kd");
    assert.equal(s.family, m === "fsp" ? "fsp" : "none");
  }
  // The feature methods with the CNN student: cnn_ce's run but for the objective.
  for (const m of CNN_FEATURE_METHODS) {
    const s = find(`cnn_${m}`, 1);
    assert.deepEqual(
      s.spec.objective,
      m === "crd_nce" ? { name: m, config: { negatives: CRD_NEGATIVES } } : { name: m },
    );
    assert.deepEqual(
      { ...s.spec, name: "", objective: undefined },
      { ...find("cnn_ce", 1).spec, name: "", objective: undefined },
    );
    assert.ok(s.student === "cnn" && s.family === m && !s.withKD, m);
  }
});

Deno.test("runVision: a representation objective gets the two models' feature widths and the run's seed", async () => {
  await initBackend("wasm", { log: false });
  const root = await Deno.makeTempDir();
  try {
    const train = { steps: 6, batchSize: 16, peakLr: 5e-3, warmupSteps: 1, weightDecay: 0 };
    const teacher: VisionSpec = {
      name: "t",
      dataset: "mnist",
      fewShot: 0.02,
      model: { kind: "mlp", config: { hidden: [12] } },
      train,
      objective: { name: "sft" },
      seed: 1,
      testExamples: 50,
    };
    const student: VisionSpec = {
      ...teacher,
      name: "s",
      model: { kind: "mlp", config: { hidden: [5] } },
      objective: { name: "crd", config: { kdWeight: 1, embedDim: 8 } },
      teacher,
      seed: 2,
    };
    const summary = await runVision(student, { root });
    assert.equal(summary.steps, 6);
    assert.ok(Number.isFinite(summary.final_loss as number));
    // The heads (CRD's two embeddings, 5 → 8 and 12 → 8) are in the checkpoint with the student.
    const saved = await loadCheckpoint(visionRun(student, root).checkpointDir);
    assert.deepEqual(
      Object.keys(saved!.params).filter((k) => k.startsWith("objective.")).map((k) =>
        saved!.params[k].shape
      ),
      [[5, 8], [8], [12, 8], [8]],
    );
    // CRD's NCE: its memory banks get one row per training example, checkpointed as buffers.
    const nce: VisionSpec = {
      ...student,
      name: "nce",
      objective: { name: "crd_nce", config: { negatives: 8, embedDim: 8 } },
    };
    await runVision(nce, { root });
    const buffers = (await loadCheckpoint(visionRun(nce, root).checkpointDir))!.buffers!;
    const examples = visionRun(nce, root).summary().train_examples as number;
    assert.deepEqual(buffers["crd.bank.student"].shape, [examples, 8]);
    assert.ok(buffers["crd.z.teacher"].data[0] > 0, "Z was estimated");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A CNN teacher of a few steps on 2% of MNIST, for the runVision tests of the block objectives. */
const TINY_CNN_TEACHER: VisionSpec = {
  name: "t",
  dataset: "mnist",
  fewShot: 0.02,
  model: { kind: "cnn", config: { channels: [3, 4], featureDim: 6 } },
  train: { steps: 4, batchSize: 16, peakLr: 5e-3, warmupSteps: 1, weightDecay: 0 },
  objective: { name: "sft" },
  seed: 1,
  testExamples: 50,
};

/** A CNN student of {@link TINY_CNN_TEACHER} (seed 2): `channels` per block, on `objective`. */
const tinyCnnStudent = (
  name: string,
  objective: VisionSpec["objective"],
  channels = [2, 2],
): VisionSpec => ({
  ...TINY_CNN_TEACHER,
  name,
  model: { kind: "cnn", config: { channels, featureDim: 4 } },
  objective,
  teacher: TINY_CNN_TEACHER,
  seed: 2,
});

Deno.test("runVision: attention transfer trains a CNN student from a table of the CNN teacher's maps, the same as from the teacher", async () => {
  await initBackend("wasm", { log: false });
  const root = await Deno.makeTempDir();
  try {
    const student = (steps: number): VisionSpec => ({
      ...tinyCnnStudent(`s${steps}`, { name: "at", config: { kdWeight: 1 } }),
      train: { ...TINY_CNN_TEACHER.train, steps },
    });
    // 12 steps of 16 cover the 2% split (a table of the teacher's maps); 6 steps do not (the
    // teacher runs on every batch). Their first 6 steps see the same batches.
    const withTable = await runVision(student(12), { root });
    const live = await runVision(student(6), { root });
    assert.ok(12 * 16 >= (withTable.train_examples as number), "the table path is taken");
    assert.ok(6 * 16 < (live.train_examples as number), "the live path is taken");
    const losses = async (spec: VisionSpec) =>
      (await visionRun(spec, root).metrics()).getColumn("loss").toArray().slice(0, 3) as number[];
    const [a, b] = [await losses(student(12)), await losses(student(6))];
    // The schedules differ (cosine over 12 or 6 steps) from step 2 on; the first steps' losses
    // only depend on the teacher's targets, whichever way they came.
    assert.ok(Math.abs(a[0] - b[0]) < 1e-4 * Math.max(1, b[0]), `${a[0]} vs ${b[0]}`);
    await assert.rejects(
      () =>
        runVision({ ...student(6), name: "mlp", model: { kind: "mlp", config: { hidden: [4] } } }, {
          root,
        }),
      /objective "at" compares the blocks' spatial maps, so the student must be a CNN/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("runVision: factor transfer trains its paraphraser on the teacher's blocks first, and checkpoints it", async () => {
  await initBackend("wasm", { log: false });
  const root = await Deno.makeTempDir();
  try {
    const student = tinyCnnStudent("ft", {
      name: "ft",
      config: { initSteps: 8, initLearningRate: 1e-2 },
    });
    const summary = await runVision(student, { root });
    const [first, last] = [summary.init_paraphraser_mse_first, summary.init_paraphraser_mse_last];
    assert.ok(Number.isFinite(first) && (last as number) < (first as number), `${first} → ${last}`);
    assert.ok((summary.init_seconds as number) > 0);
    // The paraphraser (4 → 2 → 4 channels on the last block) is a buffer, the translator trains.
    const saved = (await loadCheckpoint(visionRun(student, root).checkpointDir))!;
    assert.deepEqual(saved.buffers!["ft.paraphraser.enc1.w"].shape, [3, 3, 4, 2]);
    assert.deepEqual(saved.params["objective.ft.0"]?.shape, [3, 3, 2, 2]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("runVision: activation boundaries train the student's blocks on the teacher's first, then the labels", async () => {
  await initBackend("wasm", { log: false });
  const root = await Deno.makeTempDir();
  try {
    const ab = tinyCnnStudent("ab", {
      name: "ab",
      config: { initSteps: 12, initLearningRate: 1e-2 },
    });
    const summary = await runVision(ab, { root });
    const [first, last] = [summary.init_ab_loss_first, summary.init_ab_loss_last];
    assert.ok(Number.isFinite(first) && (last as number) < (first as number), `${first} → ${last}`);
    const share = [summary.init_agreement_first, summary.init_agreement_last] as number[];
    assert.ok(share.every((a) => a >= 0 && a <= 1), `${share}`);
    // The same student on the labels alone starts from other blocks, so its first loss differs.
    const plain = tinyCnnStudent("sft", { name: "sft" });
    await runVision(plain, { root });
    const firstLoss = async (spec: VisionSpec) =>
      (await visionRun(spec, root).metrics()).getColumn("loss").toArray()[0] as number;
    assert.notEqual(await firstLoss(ab), await firstLoss(plain));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("runVision: FSP trains the student's blocks on the teacher's flow first", async () => {
  await initBackend("wasm", { log: false });
  const root = await Deno.makeTempDir();
  try {
    const objective = { name: "fsp", config: { initSteps: 12, initLearningRate: 1e-2 } };
    const student = tinyCnnStudent("fsp", objective, [3, 4]);
    const summary = await runVision(student, { root });
    const [first, last] = [summary.init_fsp_loss_first, summary.init_fsp_loss_last];
    assert.ok(Number.isFinite(first) && (last as number) < (first as number), `${first} → ${last}`);
    // FSP's matrices need the teacher's channels.
    await assert.rejects(
      () => runVision(tinyCnnStudent("narrow", objective), { root }),
      /fspLoss: the student's blocks must have the teacher's channels/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("toy: FKL spreads over both modes, RKL sits on one", async () => {
  const [a, b] = toyModes(64);
  const fkl = await fitUnimodalStudent("fkl", {}, { steps: 300 });
  const rkl = await fitUnimodalStudent("rkl", {}, { steps: 300 });
  assert.ok(fkl.sigma > 8 && fkl.mu > a + 5 && fkl.mu < b - 5, `fkl μ=${fkl.mu} σ=${fkl.sigma}`);
  assert.ok(rkl.sigma < 6 && Math.min(Math.abs(rkl.mu - a), Math.abs(rkl.mu - b)) < 2);
  assert.ok(Math.max(...rkl.massNearModes) > 0.9);
  const taid = await fitUnimodalStudent("taid", { alpha: 0.05 }, { steps: 50 });
  assert.equal(taid.t!.length, 50);
  assert.ok(taid.t!.every((t, i) => i === 0 || t >= taid.t![i - 1]), "t never decreases");
});

Deno.test("PS-KD self-teacher: snapshots at epoch starts; a mid-epoch resume is refused", async () => {
  await initBackend("cpu", { log: false });
  const split = {
    images: Float32Array.from({ length: 8 * 784 }, (_, i) => (i % 13) / 13),
    labels: Int32Array.from({ length: 8 }, (_, i) => i % 2),
    count: 8,
  };
  const student = createMLP({ hidden: [4], classes: 2, seed: 1 });
  const task = classifierTask({
    student,
    objective: getLoss("ps_kd", { epochs: 3, stepsPerEpoch: 2 }),
    batcher: new ImageBatcher(split, { batchSize: 4, seed: 1 }),
    selfTeacher: { stepsPerEpoch: 2 },
  });
  await train({ task, steps: 6, schedule: constantLr(0.05) });
  const fresh = classifierTask({
    student,
    objective: getLoss("ps_kd", { epochs: 3, stepsPerEpoch: 2 }),
    batcher: new ImageBatcher(split, { batchSize: 4, seed: 1 }),
    selfTeacher: { stepsPerEpoch: 2 },
  });
  assert.throws(() => fresh.batch(3), /only resume at an epoch boundary/);
  const b = fresh.batch(4);
  tf.dispose(Object.values(b));
});

Deno.test("PHI-S plan: 12 methods × seeds, Hadamard widths, fixed distortions and image pools", () => {
  const students = phisStudy("full", 3);
  assert.equal(students.length, PHIS_METHODS.length * 3);
  assert.equal(new Set(students.map((s) => s.name)).size, students.length);
  for (const t of phisTeachers("full")) {
    assert.ok(hadamardConstruction(t.distortion.width), `${t.name} width ${t.distortion.width}`);
  }
  // A same-width distortion is a rotation times per-direction scales; it is a pure function of its seed.
  const d = { width: 6, gain: 1, logScaleStd: 0, shiftStd: 0, seed: 3 };
  const { a } = distortionMap(6, d);
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 6; j++) {
      let dot = 0;
      for (let k = 0; k < 6; k++) dot += a.data[i * 6 + k] * a.data[j * 6 + k];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12);
    }
  }
  assert.deepEqual(
    distortionMap(4, { ...d, width: 9, shiftStd: 2 }),
    distortionMap(4, { ...d, width: 9, shiftStd: 2 }),
  );
  assert.throws(() => distortionMap(8, d), /width 6 must be ≥ the feature width 8/);
  const images = phisImages({ trainPerDataset: 50, testPerDataset: 20 });
  assert.equal(images.pool.count, 100);
  assert.equal(images.test.count, 40);
  assert.deepEqual(images.sets.map((s) => s.name), ["mnist", "fashion-mnist"]);
});
