/**
 * The run plan of the CRD benchmark's question (Tian, Krishnan & Isola, ICLR 2020, "Contrastive
 * Representation Distillation", Table 1) on Fashion-MNIST: do losses on the penultimate features
 * (FitNets' hint, RKD, SP, PKT, CRD; `lib/representation/`) teach a small student more than
 * Hinton's KD on the logits, and does adding KD to each help? CC and VID (correlation congruence,
 * Peng et al. 2019; variational information distillation, Ahn et al. 2019) complete the
 * benchmark's rows that compare penultimate features.
 *
 * Teacher and student are the vision study's (`vision_study.ts`): its CNN teacher (128-d
 * features) and its MLP 784-32-10 student (32-d features), 4,000 steps of 128 at full scale; the
 * label-trained (`ce`) and KD (`kd`: CE 0.1 + KD 0.9 at T = 4, the benchmark's KD row) students
 * are that study's runs, shared. Each feature method trains with CE (weight 1) plus the
 * benchmark's weight of its loss (FitNets 100, RKD 1 with w_D = 25 and w_A = 50, SP 3000, PKT
 * 30 000, VID 1, CRD 0.8; CC 100, the Knowledge-Distillation-Zoo's weight for the paper's kernel
 * form, which the benchmark's 0.02 does not fit), and once more with KD at weight 1 (T = 4)
 * added: the benchmark's `-a 1`, which its README shows for CRD ("CRD+KD"). CRD runs two ways:
 * `crd_nce`, the paper's NCE over memory banks, with 4,096 negatives per batch (the paper's 16,384
 * cost too much on a CPU), and `crd`, InfoNCE with the batch's other 127 examples as negatives;
 * `crd_nce` also runs with 1,024 negatives (without KD), to see how CRD's accuracy depends on
 * their number, and CC at weights 10 and 1000 (without KD).
 *
 * The benchmark's attention-transfer row (Zagoruyko & Komodakis, ICLR 2017) needs spatial maps,
 * which the MLP student lacks, so it runs with a CNN student of the MLP's size
 * ({@linkcode ATTENTION_STUDENT}: the teacher's two conv blocks at 8 and 16 channels, so their
 * 14×14 and 7×7 outputs pair with the teacher's): attention transfer at the benchmark's β = 1000
 * with CE 1 (`at`), with KD added (`at+kd`), and the same CNN trained on the labels (`cnn_ce`),
 * with KD's recipe (`cnn_kd`) and with CE 1 + KD 1 (`cnn_kd_ce1`), on the same budget; AT also
 * runs at β = 100 and 10 000 (`at_w100`, `at_w10000`) and with the map's exponent p = 1 and 4
 * (`at_p1`, `at_p4`). The benchmark's NST, VID, FitNets and FT on the blocks (where it runs VID,
 * FitNets and FT) train the same CNN student ({@linkcode BLOCK_METHODS}), and so do the feature
 * methods once more ({@linkcode CNN_FEATURE_METHODS}). So does the benchmark's AB (activation
 * boundaries, Heo et al., AAAI 2019): a first stage trains the student's conv blocks alone so that
 * their neurons fire where the teacher's do, then the student trains on the labels; and FSP (Yim et
 * al., CVPR 2017), whose first stage matches the flow between the student's two blocks to the
 * teacher's, with a CNN student of the teacher's channels ({@linkcode FSP_STUDENT}), which FSP
 * needs, against the same student on the labels and with KD.
 *
 * @module
 */
import type { VisionSpec } from "./vision.ts";
import { visionStudent, visionStudy } from "./vision_study.ts";
import { seedNumbers } from "./seeds.ts";

/** The scales of the study. */
export type RepresentationScale = "quick" | "full";

/** The feature methods, as named in the results CSV (their registry names). */
export const REPRESENTATION_METHODS = [
  "fitnet",
  "rkd",
  "sp",
  "pkt",
  "cc",
  "vid",
  "crd",
  "crd_nce",
] as const;

/** Negatives per batch of the study's `crd_nce` (the paper: 16 384). */
export const CRD_NEGATIVES = 4096;

/** Smaller negative counts of `crd_nce`, run without KD: how CRD's accuracy depends on K. */
export const CRD_NEGATIVE_ABLATION = [1024];

/**
 * Other weights of CC, run without KD: its weight (100) is the Knowledge-Distillation-Zoo's, not
 * the benchmark's, so it runs at a tenth and ten times that too (`cc_w10`, `cc_w1000`).
 */
export const CC_WEIGHT_ABLATION = [10, 1000];

/**
 * The CNN student of the attention-transfer runs: two conv3×3-ReLU-maxpool blocks of 8 and 16
 * channels (14×14 and 7×7 outputs, as the teacher's 16- and 32-channel blocks) and a 32-wide
 * feature layer: 26,698 weights, about the MLP 784-32-10 student's 25,450.
 */
export const ATTENTION_STUDENT = {
  kind: "cnn" as const,
  config: { channels: [8, 16], featureDim: 32 },
};

/** The attention-transfer runs' methods, as named in the results CSV. */
export const ATTENTION_METHODS = ["cnn_ce", "cnn_kd", "cnn_kd_ce1", "at", "at+kd"] as const;

/**
 * The CRD benchmark's other methods on the blocks, with the CNN student and CE 1 (no KD): neuron
 * selectivity transfer (`nst`, weight 50), VID on the blocks (`vid_maps`, weight 1), FitNets'
 * hint on the last conv block through a 3×3-conv regressor (`fitnet_maps`, weight 100) and factor
 * transfer on the last conv block (`ft`, weight 200, its paraphraser trained first for
 * {@linkcode FIRST_STAGE_STEPS}), all on the teacher's raw block outputs (4,704 numbers per image: a
 * table of 1.1 GB for the 60,000 training images, computed once per process and split); and
 * activation boundaries (`ab`: the student's blocks trained first for {@linkcode FIRST_STAGE_STEPS}
 * on both blocks' pre-activations, then CE alone, as the benchmark runs it).
 */
export const BLOCK_METHODS = ["nst", "vid_maps", "fitnet_maps", "ft", "ab"] as const;

/**
 * The CNN student of the FSP runs: the teacher's two conv blocks (16 and 32 channels: FSP's
 * matrices, channels of one block × channels of the next, have no connectors, so the student's
 * blocks need the teacher's channels) and a 16-wide feature layer: 30,074 weights, about the CNN
 * student's 26,698 ({@linkcode ATTENTION_STUDENT}).
 */
export const FSP_STUDENT = {
  kind: "cnn" as const,
  config: { channels: [16, 32], featureDim: 16 },
};

/**
 * The FSP runs' methods, with {@linkcode FSP_STUDENT}: on the labels (`wide_ce`), with KD's recipe
 * (`wide_kd`), and FSP (`fsp`: the student's blocks trained first for {@linkcode FIRST_STAGE_STEPS}
 * so that the FSP matrix of its two blocks matches the teacher's, then CE alone, as the benchmark
 * runs it).
 */
export const FSP_METHODS = ["wide_ce", "wide_kd", "fsp"] as const;

/**
 * The steps of the first stages, factor transfer's paraphraser's and AB's student blocks' (AdamW at
 * 1e-3, batches of the student's size), by scale: at full scale a quarter of the student's 4,000
 * steps, 2.1 epochs of the 60,000 images (the benchmark trains both 30 epochs with SGD); at quick
 * scale the student's 20.
 */
export const FIRST_STAGE_STEPS: Record<RepresentationScale, number> = { quick: 20, full: 1000 };

/**
 * The feature methods again with the CNN student, an architecture like the teacher's, as in the
 * benchmark's Table 1 (sections 1–3's MLP student is a cross-architecture pair, as in its Table
 * 2): `cnn_<method>`, CE 1 plus the method at the benchmark's weight, no KD; CRD's NCE with
 * {@linkcode CRD_NEGATIVES} negatives, as the MLP's.
 */
export const CNN_FEATURE_METHODS = [
  "fitnet",
  "sp",
  "pkt",
  "cc",
  "vid",
  "crd",
  "rkd",
  "crd_nce",
] as const;

/**
 * Other weights β of attention transfer, run without KD: how AT's accuracy depends on β (the
 * benchmark's 1000 weights the mean over map positions; the paper's code, β/2 = 500).
 */
export const AT_WEIGHT_ABLATION = [100, 10000];

/**
 * Other exponents p of attention transfer's map Σ_c |a|^p (β = 1000, no KD): the paper's p = 2
 * against 1 (every activation alike) and 4 (the strongest activations weigh most).
 */
export const AT_EXPONENT_ABLATION = [1, 4];

/** KD with the feature methods' weight on the labels: CE 1 + KD 1 at T = 4 (the controls). */
const KD_CE1: VisionSpec["objective"] = {
  name: "kd",
  config: { temperature: 4, ceWeight: 1, kdWeight: 1 },
};

/** One student of the study. */
export interface RepresentationStudent {
  /** `ce`, `kd`, a feature method, or a feature method with KD (`crd+kd`); `cnn_*`, `at`, `at+kd`. */
  method: string;
  /** The student's architecture: the MLP 784-32-10, or {@linkcode ATTENTION_STUDENT}. */
  student: "mlp" | "cnn";
  /** The feature method (`none` for `ce` and `kd`). */
  family: string;
  /** Whether the objective includes Hinton's KD term. */
  withKD: boolean;
  /** `crd_nce`'s negatives per batch (`crd_nce` runs only). */
  negatives?: number;
  /** The run's seed. */
  seed: number;
  /** The run. */
  spec: VisionSpec;
}

/** Every spec of the study at one scale: the shared teacher, then the students by method, seed. */
export function representationStudy(
  scale: RepresentationScale,
  seeds: number,
): { teacher: VisionSpec; students: RepresentationStudent[] } {
  const vision = visionStudy(scale, seeds);
  const seedList = seedNumbers(seeds);
  const shared = (method: "ce" | "kd", seed: number): RepresentationStudent => ({
    method,
    student: "mlp",
    family: "none",
    withKD: method === "kd",
    seed,
    spec: visionStudent(vision, "fashion-mnist", "full", method, seed),
  });
  // CRD's NCE draws 4,096 negatives from the banks: a quarter of the paper's 16,384, to fit the
  // CPU budget (its step cost grows with them).
  const objective = (family: string, withKD: boolean): VisionSpec["objective"] => {
    const config = {
      ...(family === "crd_nce" ? { negatives: CRD_NEGATIVES } : {}),
      ...(withKD ? { kdWeight: 1 } : {}),
    };
    return Object.keys(config).length > 0 ? { name: family, config } : { name: family };
  };
  const feature = (family: string, withKD: boolean, seed: number): RepresentationStudent => {
    const method = withKD ? `${family}+kd` : family;
    const base = visionStudent(vision, "fashion-mnist", "full", "ce", seed);
    return {
      method,
      student: "mlp",
      family,
      withKD,
      seed,
      ...(family === "crd_nce" ? { negatives: CRD_NEGATIVES } : {}),
      spec: {
        ...base,
        name: `repkd-${scale}-${method.replace("+", "_")}-s${seed}`,
        objective: objective(family, withKD),
        teacher: vision.teachers.fashion,
      },
    };
  };
  // `main` under another method name and objective: an ablation of its config, or another method
  // on the same run (student, data, schedule, seed and teacher).
  const variant = (
    main: RepresentationStudent,
    method: string,
    objective: VisionSpec["objective"],
    fields: Partial<RepresentationStudent> = {},
    model: VisionSpec["model"] = main.spec.model,
  ): RepresentationStudent => ({
    ...main,
    ...fields,
    method,
    spec: { ...main.spec, name: `repkd-${scale}-${method}-s${main.seed}`, objective, model },
  });
  // The negatives ablation: `crd_nce_k<K>`, the same student and seeds, K negatives, no KD.
  const fewerNegatives = (negatives: number, seed: number) =>
    variant(
      feature("crd_nce", false, seed),
      `crd_nce_k${negatives}`,
      { name: "crd_nce", config: { negatives } },
      { negatives },
    );
  // CC's weight ablation: `cc_w<weight>`, the same MLP student and seeds, no KD.
  const ccWeight = (weight: number, seed: number) =>
    variant(feature("cc", false, seed), `cc_w${weight}`, { name: "cc", config: { weight } });
  // A control: KD with the feature methods' CE weight (CE 1 + KD 1 at T = 4, the "+kd" runs'
  // objective without the feature term), so that KD's 0.1 on the labels is not all that differs.
  const kdWithCE = (seed: number): RepresentationStudent => {
    const base = feature("fitnet", true, seed);
    return {
      method: "kd_ce1",
      student: "mlp",
      family: "none",
      withKD: true,
      seed,
      spec: {
        ...base.spec,
        name: `repkd-${scale}-kd_ce1-s${seed}`,
        objective: KD_CE1,
      },
    };
  };
  // Attention transfer: the CNN student, on labels, KD, AT, AT + KD (the "+kd" runs' weights).
  const attention = (method: typeof ATTENTION_METHODS[number], seed: number) => {
    const base = visionStudent(vision, "fashion-mnist", "full", "ce", seed);
    const objectives: Record<typeof method, VisionSpec["objective"]> = {
      cnn_ce: base.objective,
      cnn_kd: visionStudent(vision, "fashion-mnist", "full", "kd", seed).objective,
      cnn_kd_ce1: KD_CE1,
      at: { name: "at" },
      "at+kd": { name: "at", config: { kdWeight: 1 } },
    };
    const student: RepresentationStudent = {
      method,
      student: "cnn",
      family: method.startsWith("at") ? "at" : "none",
      withKD: method !== "cnn_ce" && method !== "at",
      seed,
      spec: {
        ...base,
        name: `repkd-${scale}-${method.replace("+", "_")}-s${seed}`,
        model: ATTENTION_STUDENT,
        objective: objectives[method],
        teacher: vision.teachers.fashion,
      },
    };
    return student;
  };
  // NST, VID, FitNets, FT and AB on the blocks: AT's run with their own objective.
  const onBlocks = (method: typeof BLOCK_METHODS[number], seed: number) =>
    variant(
      attention("at", seed),
      method,
      method === "ft" || method === "ab"
        ? { name: method, config: { initSteps: FIRST_STAGE_STEPS[scale] } }
        : { name: method },
      { family: method },
    );
  // The feature methods with the CNN student: `cnn_<method>`, cnn_ce's run with their objective.
  const cnnFeature = (family: typeof CNN_FEATURE_METHODS[number], seed: number) =>
    variant(attention("cnn_ce", seed), `cnn_${family}`, objective(family, false), {
      family,
      ...(family === "crd_nce" ? { negatives: CRD_NEGATIVES } : {}),
    });
  // FSP and its controls: cnn_ce's and cnn_kd's runs with the student of the teacher's channels.
  const flow = (method: typeof FSP_METHODS[number], seed: number) => {
    const base = attention(method === "wide_kd" ? "cnn_kd" : "cnn_ce", seed);
    return variant(
      base,
      method,
      method === "fsp"
        ? { name: "fsp", config: { initSteps: FIRST_STAGE_STEPS[scale] } }
        : base.spec.objective,
      { family: method === "fsp" ? "fsp" : "none" },
      FSP_STUDENT,
    );
  };
  // The ablations of AT's config (no KD): `at_w<β>` and `at_p<p>`, the same CNN student and seeds.
  const atVariant = (method: string, config: Record<string, number>, seed: number) =>
    variant(attention("at", seed), method, { name: "at", config });
  const students = [
    ...(["ce", "kd"] as const).flatMap((m) => seedList.map((seed) => shared(m, seed))),
    ...seedList.map(kdWithCE),
    ...[false, true].flatMap((withKD) =>
      REPRESENTATION_METHODS.flatMap((family) =>
        seedList.map((seed) => feature(family, withKD, seed))
      )
    ),
    ...CRD_NEGATIVE_ABLATION.flatMap((k) => seedList.map((seed) => fewerNegatives(k, seed))),
    ...CC_WEIGHT_ABLATION.flatMap((w) => seedList.map((seed) => ccWeight(w, seed))),
    ...ATTENTION_METHODS.flatMap((m) => seedList.map((seed) => attention(m, seed))),
    ...BLOCK_METHODS.flatMap((m) => seedList.map((seed) => onBlocks(m, seed))),
    ...CNN_FEATURE_METHODS.flatMap((m) => seedList.map((seed) => cnnFeature(m, seed))),
    ...FSP_METHODS.flatMap((m) => seedList.map((seed) => flow(m, seed))),
    ...AT_WEIGHT_ABLATION.flatMap((w) =>
      seedList.map((seed) => atVariant(`at_w${w}`, { weight: w }, seed))
    ),
    ...AT_EXPONENT_ABLATION.flatMap((q) =>
      seedList.map((seed) => atVariant(`at_p${q}`, { p: q }, seed))
    ),
  ];
  return { teacher: vision.teachers.fashion, students };
}
