import assert from "node:assert/strict";
import {
  BUSBRIDGE_DISTILLATION as P,
  BUSBRIDGE_SUPERVISED as S,
  distillationFlops,
  distillationLoss,
  forwardFlopsPerToken,
  gptForwardFlopsPerToken,
  optimalDistillation,
  supervisedLoss,
} from "./mod.ts";

Deno.test("FLOPs per token: Eq. 69 reproduces Table 13; our GPT count; scenario totals", () => {
  assert.ok(
    Math.abs(forwardFlopsPerToken(0.546e9) / 1.415e9 - 1) < 2e-3,
    `${forwardFlopsPerToken(0.546e9)}`,
  );
  assert.equal(
    gptForwardFlopsPerToken({ nLayer: 1, dModel: 4, vocabSize: 10, contextLength: 8 }),
    2 * 12 * 16 + 4 * 4 * 4 + 80,
  );
  const base = { NS: 1e9, DS: 2e10, NT: 7e9, DT: 1e11 };
  assert.equal(distillationFlops({ ...base, scenario: "best-case" }), 6 * 1e9 * 2e10);
  assert.equal(
    distillationFlops({ ...base, scenario: "teacher-pretraining+inference" }),
    6e9 * 2e10 + 2 * 7e9 * 2e10 + 6 * 7e9 * 1e11,
  );
  assert.throws(() => forwardFlopsPerToken(0), /N must be > 0/);
});

Deno.test("optimal distillation agrees with brute force, and supervised wins when the teacher must be trained", () => {
  const NS = 1e9, C = 1e21;
  for (const scenario of ["teacher-inference", "teacher-pretraining+inference"] as const) {
    const a = optimalDistillation({ NS, C, scenario, supervised: S, distillation: P });
    let brute = Infinity;
    for (let x = Math.log(1e6); x <= Math.log(1e17); x += 0.02) {
      for (let y = Math.log(1e6); y <= Math.log(1e17); y += 0.02) {
        const NT = Math.exp(x), DT = Math.exp(y);
        const left = C - (scenario === "teacher-inference" ? 0 : 6 * NT * DT);
        const DS = left / (6 * NS + 2 * NT);
        if (DS < 1e6) continue;
        brute = Math.min(
          brute,
          distillationLoss(P, S, NS, Math.min(DS, 1e17), supervisedLoss(S, NT, DT)),
        );
      }
    }
    assert.ok(a.LS <= brute + 1e-6, `${scenario}: ${a.LS} vs brute ${brute}`);
    assert.ok(Math.abs(a.shares.student + a.shares.logits + a.shares.teacher - 1) < 1e-9);
    if (scenario === "teacher-pretraining+inference") {
      assert.equal(
        a.distillationWins,
        false,
        "paper §5.3: with the teacher's training counted, supervised wins",
      );
    }
  }
  assert.throws(
    () =>
      optimalDistillation({
        NS,
        C: 1,
        scenario: "teacher-inference",
        supervised: S,
        distillation: P,
      }),
    /cannot train the student/,
  );
});
