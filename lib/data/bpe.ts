/**
 * Byte-level BPE (Sennrich et al., "Neural Machine Translation of Rare Words with Subword Units",
 * ACL 2016; byte-level as in GPT-2, Radford et al. 2019): text is split into chunks by GPT-2's
 * pre-tokenisation pattern, each chunk's UTF-8 bytes are merged pairwise by learned rank. Every
 * byte is a token, so any well-formed string encodes and decodes back exactly.
 *
 * No maintained BPE trainer runs under Deno without native downloads (tokenizers and
 * sentencepiece are native addons), so this is a small one: training keeps pair counts up to
 * date incrementally and picks the most frequent pair from a lazy max-heap.
 *
 * Token ids: 0-255 are bytes, 256 + r is merge r, then the special tokens.
 *
 * @module
 */

/** GPT-2's pre-tokenisation: contractions, letters, digits, other symbols, each with one leading
 * space; runs of whitespace. The chunks concatenate back to the input. */
const CHUNK_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The end-of-text token that separates documents. */
export const END_OF_TEXT = "<|endoftext|>";

/** A tokenizer as saved to JSON. */
export interface BPEJson {
  /** Format tag. */
  type: "byte-bpe";
  /** Format version. */
  version: 1;
  /** Merged pairs in rank order; merge r makes token 256 + r. */
  merges: [number, number][];
  /** Special tokens in id order after the merges. */
  specialTokens: string[];
}

/** Options of {@link BPETokenizer.train}. */
export interface BPETrainOptions {
  /** Total vocabulary: 256 bytes + merges + special tokens (default 4096). */
  vocabSize?: number;
  /** Special tokens appended after the merges (default `[END_OF_TEXT]`). */
  specialTokens?: string[];
  /** Stop early when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
}

const pairKey = (a: number, b: number) => a * 65536 + b;
const utf8 = new TextEncoder();

/** Splits text into GPT-2 pre-tokenisation chunks. */
export function chunks(text: string): string[] {
  return text.match(CHUNK_PATTERN) ?? [];
}

/** A trained byte-level BPE tokenizer. */
export class BPETokenizer {
  /** Merged pairs in rank order; merge r makes token 256 + r. */
  readonly merges: readonly [number, number][];
  /** Special tokens, with ids after the merges. */
  readonly specialTokens: readonly string[];
  readonly #ranks = new Map<number, number>();
  readonly #bytes: Uint8Array[] = [];
  readonly #cache = new Map<string, number[]>();

  /** A tokenizer from its saved JSON (see {@linkcode BPETokenizer.train} to train one). */
  constructor(json: BPEJson) {
    if (json?.type !== "byte-bpe" || json.version !== 1 || !Array.isArray(json.merges)) {
      throw new Error('BPETokenizer: expected JSON of {type: "byte-bpe", version: 1, merges}');
    }
    this.merges = json.merges;
    this.specialTokens = json.specialTokens ?? [];
    for (let b = 0; b < 256; b++) this.#bytes.push(Uint8Array.of(b));
    json.merges.forEach(([a, b], r) => {
      const id = 256 + r;
      if (!(a >= 0 && b >= 0 && a < id && b < id)) {
        throw new Error(`BPETokenizer: merge ${r} = [${a}, ${b}] refers to a later token`);
      }
      this.#ranks.set(pairKey(a, b), r);
      const bytes = new Uint8Array(this.#bytes[a].length + this.#bytes[b].length);
      bytes.set(this.#bytes[a]);
      bytes.set(this.#bytes[b], this.#bytes[a].length);
      this.#bytes.push(bytes);
    });
    for (const special of this.specialTokens) this.#bytes.push(utf8.encode(special));
  }

  /** Number of token ids. */
  get vocabSize(): number {
    return 256 + this.merges.length + this.specialTokens.length;
  }

  /** The id of a special token (e.g. {@link END_OF_TEXT}). */
  specialId(token: string = END_OF_TEXT): number {
    const index = this.specialTokens.indexOf(token);
    if (index < 0) throw new Error(`BPETokenizer: no special token "${token}"`);
    return 256 + this.merges.length + index;
  }

  /** The bytes a token stands for. */
  tokenBytes(id: number): Uint8Array {
    const bytes = this.#bytes[id];
    if (!bytes) throw new Error(`BPETokenizer: token id ${id} outside [0, ${this.vocabSize})`);
    return bytes;
  }

  /** Token ids of a text (special tokens in the text are encoded as plain text). */
  encode(text: string): Int32Array {
    const ids: number[] = [];
    for (const chunk of chunks(text)) for (const id of this.#encodeChunk(chunk)) ids.push(id);
    return Int32Array.from(ids);
  }

  /** Documents encoded one after another, each followed by the end-of-text token. */
  encodeDocuments(texts: Iterable<string>): Int32Array {
    const eot = this.specialId(END_OF_TEXT);
    const parts: Int32Array[] = [];
    let length = 0;
    for (const text of texts) {
      const ids = this.encode(text);
      parts.push(ids, Int32Array.of(eot));
      length += ids.length + 1;
    }
    const out = new Int32Array(length);
    let offset = 0;
    for (const part of parts) out.set(part, offset), offset += part.length;
    return out;
  }

  /** The text of token ids (exactly the encoded text, for well-formed Unicode input). */
  decode(ids: ArrayLike<number>): string {
    let length = 0;
    for (let i = 0; i < ids.length; i++) length += this.tokenBytes(ids[i]).length;
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (let i = 0; i < ids.length; i++) {
      const piece = this.#bytes[ids[i]];
      bytes.set(piece, offset);
      offset += piece.length;
    }
    return new TextDecoder().decode(bytes);
  }

  /** The tokenizer as JSON (what {@link BPETokenizer.fromJSON} reads). */
  toJSON(): BPEJson {
    return {
      type: "byte-bpe",
      version: 1,
      merges: this.merges.map(([a, b]) => [a, b]),
      specialTokens: [...this.specialTokens],
    };
  }

  /** A tokenizer from its JSON (an object or its text). */
  static fromJSON(json: BPEJson | string): BPETokenizer {
    return new BPETokenizer(typeof json === "string" ? JSON.parse(json) : json);
  }

  /** Merges by lowest rank first, as GPT-2 encodes. */
  #encodeChunk(chunk: string): number[] {
    const cached = this.#cache.get(chunk);
    if (cached) return cached;
    const symbols = Array.from(utf8.encode(chunk));
    while (symbols.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.#ranks.get(pairKey(symbols[i], symbols[i + 1]));
        if (rank !== undefined && rank < bestRank) bestRank = rank, best = i;
      }
      if (best < 0) break;
      const [a, b] = this.merges[bestRank];
      for (let i = best; i + 1 < symbols.length; i++) {
        if (symbols[i] === a && symbols[i + 1] === b) symbols.splice(i, 2, 256 + bestRank);
      }
    }
    if (this.#cache.size < 200_000) this.#cache.set(chunk, symbols);
    return symbols;
  }

  /**
   * Learns merges from texts: repeatedly merges the most frequent adjacent pair (ties broken by
   * the smaller pair of ids, so training is deterministic) until the vocabulary is full.
   */
  static train(texts: Iterable<string>, options: BPETrainOptions = {}): BPETokenizer {
    const { vocabSize = 4096, specialTokens = [END_OF_TEXT], minFrequency = 2 } = options;
    const numMerges = vocabSize - 256 - specialTokens.length;
    if (!Number.isInteger(vocabSize) || numMerges < 0 || vocabSize > 65536) {
      throw new Error(
        `BPETokenizer.train: vocabSize must be an integer in [${
          256 + specialTokens.length
        }, 65536], got ${vocabSize}`,
      );
    }
    const frequency = new Map<string, number>();
    for (const text of texts) {
      for (const chunk of chunks(text)) frequency.set(chunk, (frequency.get(chunk) ?? 0) + 1);
    }
    if (frequency.size === 0) throw new Error("BPETokenizer.train: texts are empty");
    const words = [...frequency.keys()].map((w) => Array.from(utf8.encode(w)));
    const counts = [...frequency.values()];
    const pairCount = new Map<number, number>();
    const pairWords = new Map<number, Set<number>>();
    const heap = new PairHeap();
    const add = (word: number, sign: number) => {
      const symbols = words[word];
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = pairKey(symbols[i], symbols[i + 1]);
        const count = (pairCount.get(key) ?? 0) + sign * counts[word];
        pairCount.set(key, count);
        if (sign > 0) {
          let set = pairWords.get(key);
          if (!set) pairWords.set(key, set = new Set());
          set.add(word);
          heap.push(count, key);
        }
      }
    };
    for (let w = 0; w < words.length; w++) add(w, 1);

    const merges: [number, number][] = [];
    while (merges.length < numMerges) {
      const top = heap.popCurrent(pairCount);
      if (!top || top.count < minFrequency) break;
      const a = Math.floor(top.key / 65536);
      const b = top.key % 65536;
      const id = 256 + merges.length;
      merges.push([a, b]);
      for (const word of pairWords.get(top.key)!) {
        const symbols = words[word];
        let has = false;
        for (let i = 0; i + 1 < symbols.length; i++) {
          if (symbols[i] === a && symbols[i + 1] === b) has = true;
        }
        if (!has) continue;
        add(word, -1);
        for (let i = 0; i + 1 < symbols.length; i++) {
          if (symbols[i] === a && symbols[i + 1] === b) symbols.splice(i, 2, id);
        }
        add(word, 1);
      }
      pairWords.delete(top.key);
      pairCount.delete(top.key);
    }
    return new BPETokenizer({ type: "byte-bpe", version: 1, merges, specialTokens });
  }
}

/** A max-heap of (count, key) with lazy deletion: stale entries are skipped when popped. */
class PairHeap {
  #counts: number[] = [];
  #keys: number[] = [];

  #above(i: number, j: number): boolean {
    const c = this.#counts;
    return c[i] > c[j] || (c[i] === c[j] && this.#keys[i] < this.#keys[j]);
  }

  #swap(i: number, j: number) {
    [this.#counts[i], this.#counts[j]] = [this.#counts[j], this.#counts[i]];
    [this.#keys[i], this.#keys[j]] = [this.#keys[j], this.#keys[i]];
  }

  push(count: number, key: number) {
    this.#counts.push(count);
    this.#keys.push(key);
    let i = this.#counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#above(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #pop(): { count: number; key: number } | undefined {
    const n = this.#counts.length;
    if (n === 0) return undefined;
    const top = { count: this.#counts[0], key: this.#keys[0] };
    this.#swap(0, n - 1);
    this.#counts.pop();
    this.#keys.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n - 1 && this.#above(l, m)) m = l;
      if (r < n - 1 && this.#above(r, m)) m = r;
      if (m === i) break;
      this.#swap(i, m);
      i = m;
    }
    return top;
  }

  /** The top entry whose count is still current. */
  popCurrent(current: Map<number, number>): { count: number; key: number } | undefined {
    for (;;) {
      const top = this.#pop();
      if (!top || current.get(top.key) === top.count) return top;
    }
  }
}
