import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  BPETokenizer,
  BROWN_CATEGORIES,
  brownCorpusWordCount,
  brownTokenizer,
  brownTokens,
  chunks,
  detokenize,
  documentText,
  END_OF_TEXT,
  evaluationBatches,
  fewShot,
  hashSeed,
  ImageBatcher,
  loadBrown,
  loadImages,
  parseTagged,
  permutation,
  TokenBatcher,
} from "./mod.ts";

Deno.test("Brown corpus: 500 documents, 1,161,192 words, 15 genres, stratified 80/10/10 split", () => {
  const all = loadBrown();
  assert.equal(all.length, 500);
  assert.equal(brownCorpusWordCount(), 1161192, "NLTK's count of brown.words()");
  assert.deepEqual([...new Set(all.map((d) => d.category))].sort(), [...BROWN_CATEGORIES]);
  const splits = (["train", "validation", "test"] as const).map((split) => loadBrown({ split }));
  assert.deepEqual(splits.map((s) => s.length), [396, 52, 52]);
  const ids = splits.flat().map((d) => d.id);
  assert.equal(new Set(ids).size, 500, "splits are disjoint and cover the corpus");
  for (const split of splits) {
    assert.equal(new Set(split.map((d) => d.category)).size, 15, "every genre in every split");
  }
  const news = loadBrown({ categories: ["news"] });
  assert.equal(news.length, 44);
  assert.ok(news.every((d) => d.category === "news"));
  assert.equal(all[0].id, "ca01");
  assert.deepEqual(all[0].sentences[0].slice(0, 4), ["The", "Fulton", "County", "Grand"]);
});

Deno.test("Brown: tags are removed at the last slash; text keeps sentences; bad arguments fail", () => {
  assert.deepEqual(parseTagged("\n\tThe/at 1/2/cd dog/nn ./.\n\n\tHi/uh\n"), [
    ["The", "1/2", "dog", "."],
    ["Hi"],
  ]);
  assert.equal(
    detokenize(["He", "said", "``", "no", "evidence", "''", "to", "(", "them", ")", "."]),
    'He said "no evidence" to (them).',
  );
  const text = documentText(loadBrown()[0]);
  assert.ok(text.startsWith("The Fulton County Grand Jury said Friday an investigation"));
  assert.equal(text.split("\n").length, loadBrown()[0].sentences.length);
  assert.throws(() => loadBrown({ categories: ["poetry"] }), /unknown category "poetry"/);
  assert.throws(() => loadBrown({ categories: [] }), /must not be empty/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => loadBrown({ split: "dev" as any }), /split must be/);
});

Deno.test("BPE: known merges on a small text, exact round trip, JSON save/load", () => {
  const tok = BPETokenizer.train(["aaab aaab aaab ab"], {
    vocabSize: 260,
    specialTokens: [END_OF_TEXT],
  });
  // Chunks: "aaab" and " aaab" ×2 and " ab". Most frequent pair: (a, a) ×6, then (aa, a)? no:
  // after merging "aa", pairs are (aa, a)×3, (a, b)×4, (" ", aa)×2, (" ", a)×1 → (a, b).
  assert.deepEqual(tok.merges.slice(0, 2), [[97, 97], [97, 98]]);
  assert.equal(tok.vocabSize, 260);
  assert.equal(tok.specialId(), 259);
  for (
    const text of ["aaab", "", "héllo wörld — 東京 🙂\n\n  tabs\tand spaces  ", "<|endoftext|>"]
  ) {
    assert.equal(tok.decode(tok.encode(text)), text);
  }
  const copy = BPETokenizer.fromJSON(JSON.stringify(tok.toJSON()));
  assert.deepEqual(copy.encode("aaab ab"), tok.encode("aaab ab"));
  assert.equal(chunks("Hello, world's  end").join(""), "Hello, world's  end");
  assert.throws(
    () => BPETokenizer.train(["x"], { vocabSize: 100 }),
    /vocabSize must be an integer/,
  );
  assert.throws(() => BPETokenizer.train([""], {}), /texts are empty/);
  assert.throws(() => tok.decode([5000]), /token id 5000 outside \[0, 260\)/);
  assert.throws(
    () =>
      BPETokenizer.fromJSON({
        type: "byte-bpe",
        version: 1,
        merges: [[300, 1]],
        specialTokens: [],
      }),
    /later token/,
  );
});

Deno.test("BPE on Brown: vocabulary 4096, exact round trip of the whole corpus, ~1.5 tokens/word", () => {
  const tok = brownTokenizer(4096);
  assert.equal(tok.vocabSize, 4096);
  let tokens = 0;
  for (const doc of loadBrown()) {
    const text = documentText(doc);
    const ids = tok.encode(text);
    tokens += ids.length;
    assert.equal(tok.decode(ids), text, doc.id);
  }
  const perWord = tokens / brownCorpusWordCount();
  assert.ok(perWord > 1.2 && perWord < 1.7, `tokens per word ${perWord}`);
  const streams = brownTokens({ tokenizer: tok });
  const eot = tok.specialId();
  assert.equal(streams.train.filter((t) => t === eot).length, 396);
  assert.equal(streams.validation.filter((t) => t === eot).length, 52);
  const news = brownTokens({ tokenizer: tok, categories: ["news"] });
  assert.ok(news.train.length < streams.train.length / 5);
  // A small fine-tuning set: the first tokens of the training stream, validation whole.
  const small = brownTokens({ tokenizer: tok, categories: ["news"], trainTokens: 1000 });
  assert.deepEqual(small.train, news.train.slice(0, 1000));
  assert.deepEqual(small.validation, news.validation);
  for (const bad of [0, 2.5, news.train.length + 1]) {
    assert.throws(
      () => brownTokens({ tokenizer: tok, categories: ["news"], trainTokens: bad }),
      new RegExp(`trainTokens must be an integer in \\[1, ${news.train.length}\\].*got ${bad}`),
    );
  }
});

Deno.test("image data: fixed splits, pixels in [0, 1], seeded few-shot subsets", () => {
  const mnist = loadImages("mnist");
  assert.equal(mnist.train.count + mnist.test.count, 10000);
  assert.equal(mnist.test.count, 1429);
  const fashion = loadImages("fashion-mnist");
  assert.equal(fashion.test.count, 10000);
  assert.equal(fashion.train.count, 60000);
  assert.equal(fashion.classNames[9], "Ankle boot");
  for (const split of [mnist.train, fashion.test]) {
    let lo = Infinity, hi = -Infinity;
    for (const v of split.images) lo = Math.min(lo, v), hi = Math.max(hi, v);
    assert.ok(lo >= 0 && hi <= 1 && hi > 0.9, `range [${lo}, ${hi}]`);
    assert.equal(split.images.length, split.count * 784);
  }
  const counts = (labels: Int32Array) =>
    Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length);
  const few = fewShot(fashion.train, 0.05, 1);
  assert.deepEqual(
    counts(few.labels),
    counts(fashion.train.labels).map((n) => Math.round(n * 0.05)),
  );
  assert.deepEqual(fewShot(fashion.train, 0.05, 1).images, few.images);
  assert.notDeepEqual(
    fewShot(fashion.train, 0.05, 2).images.subarray(0, 784 * 5),
    few.images.subarray(0, 784 * 5),
  );
  assert.throws(() => fewShot(fashion.train, 0, 1), /fraction must be in \(0, 1\]/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => loadImages("cifar" as any), /unknown data set "cifar"/);
});

Deno.test("batches are pure functions of (seed, step)", () => {
  const tokens = Int32Array.from({ length: 1000 }, (_, i) => i % 97);
  const a = new TokenBatcher(tokens, { batchSize: 4, contextLength: 16, seed: 1 });
  const b = new TokenBatcher(tokens, { batchSize: 4, contextLength: 16, seed: 1 });
  b.starts(0), b.starts(1); // history does not matter
  assert.deepEqual(a.starts(7), b.starts(7));
  assert.notDeepEqual(a.starts(7), a.starts(8));
  assert.notDeepEqual(
    a.starts(7),
    new TokenBatcher(tokens, { batchSize: 4, contextLength: 16, seed: 2 }).starts(7),
  );
  tf.tidy(() => {
    const { inputs, targets } = a.batch(3);
    const x = inputs.arraySync(), y = targets.arraySync();
    for (let r = 0; r < 4; r++) {
      assert.deepEqual(x[r].slice(1), y[r].slice(0, 15), "targets are inputs shifted by one");
    }
  });
  assert.throws(
    () => new TokenBatcher(new Int32Array(5), { batchSize: 1, contextLength: 8, seed: 0 }),
    /empty or too small/,
  );
  assert.deepEqual(
    evaluationBatches(tokens, { contextLength: 100, batchSize: 4 }).map((b) => Array.from(b)),
    [[0, 100, 200, 300], [400, 500, 600, 700], [800]],
  );

  const split = {
    images: new Float32Array(10 * 784),
    labels: Int32Array.from({ length: 10 }, (_, i) => i),
    count: 10,
  };
  const images = new ImageBatcher(split, { batchSize: 5, seed: 3 });
  const epoch = [...images.indices(0), ...images.indices(1)].sort((x, y) => x - y);
  assert.deepEqual(epoch, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "one epoch visits each example once");
  assert.deepEqual(
    new ImageBatcher(split, { batchSize: 5, seed: 3 }).indices(3),
    images.indices(3),
  );
  assert.throws(() => new ImageBatcher({ ...split, count: 0 }, { batchSize: 2, seed: 0 }), /empty/);
  const perm = permutation(50, hashSeed("x"));
  assert.deepEqual([...perm].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
});
