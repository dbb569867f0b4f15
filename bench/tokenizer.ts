/**
 * Benchmark of the Brown corpus and its byte-level BPE: corpus size, tokenizer training time on
 * the training split, encoding time of the whole corpus, and compression (tokens per word) at
 * vocabularies 1024 and 4096. Writes `bench/results/tokenizer.json`.
 *
 * Usage: `deno task bench tokenizer`
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BPETokenizer, brownCorpusWordCount, documentText, loadBrown } from "../lib/data/mod.ts";

const here = dirname(fileURLToPath(import.meta.url));
const documents = loadBrown();
const words = brownCorpusWordCount();
const trainTexts = loadBrown({ split: "train" }).map(documentText);
const allTexts = documents.map(documentText);
const rows = [1024, 4096].map((vocabSize) => {
  let t0 = performance.now();
  const tokenizer = BPETokenizer.train(trainTexts, { vocabSize });
  const trainSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const tokens = allTexts.reduce((n, text) => n + tokenizer.encode(text).length, 0);
  const encodeSeconds = (performance.now() - t0) / 1000;
  return { vocabSize, trainSeconds, encodeSeconds, tokens, tokensPerWord: tokens / words };
});
for (const r of rows) {
  console.log(
    `vocab ${r.vocabSize}: trained in ${r.trainSeconds.toFixed(2)} s, corpus encoded in ` +
      `${r.encodeSeconds.toFixed(2)} s, ${r.tokens} tokens, ${
        r.tokensPerWord.toFixed(3)
      } tokens/word`,
  );
}
const result = {
  benchmark: "tokenizer",
  date: new Date().toISOString(),
  deno: Deno.version.deno,
  corpus: { documents: documents.length, words, trainDocuments: trainTexts.length },
  rows,
};
await Deno.writeTextFile(
  join(here, "results", "tokenizer.json"),
  JSON.stringify(result, null, 2) + "\n",
);
