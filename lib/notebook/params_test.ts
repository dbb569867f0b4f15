import assert from "node:assert/strict";
import { params, type Scale } from "./params.ts";

const defaults = { scale: "quick" as Scale, seeds: 3, methods: ["fkl"], lr: 1e-3 };

Deno.test("params: defaults without overrides, overrides applied", () => {
  assert.deepEqual(params(defaults, ""), defaults);
  assert.deepEqual(params(defaults, '{"seeds": 1, "scale": "full"}'), {
    ...defaults,
    seeds: 1,
    scale: "full",
  });
});

Deno.test("params: malformed JSON, unknown keys, wrong types and scales are named", () => {
  assert.throws(() => params(defaults, "{seeds: 1"), /not valid JSON/);
  assert.throws(() => params(defaults, "[1]"), /must be a JSON object/);
  assert.throws(() => params(defaults, '{"sedes": 1}'), /unknown parameter "sedes".*seeds/);
  assert.throws(() => params(defaults, '{"seeds": "3"}'), /"seeds" must be a number/);
  assert.throws(() => params(defaults, '{"methods": "fkl"}'), /"methods" must be an array/);
  assert.throws(() => params(defaults, '{"scale": "huge"}'), /"scale" must be "quick" or "full"/);
});

Deno.test("params: read from KDLAB_PARAMS", () => {
  Deno.env.set("KDLAB_PARAMS", '{"lr": 0.5}');
  try {
    assert.equal(params(defaults).lr, 0.5);
    Deno.env.set("KDLAB_PARAMS", "not json");
    assert.throws(() => params(defaults), /KDLAB_PARAMS is not valid JSON/);
  } finally {
    Deno.env.delete("KDLAB_PARAMS");
  }
});
