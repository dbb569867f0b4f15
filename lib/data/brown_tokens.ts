/**
 * The Brown corpus as token streams for language modelling: a byte-level BPE trained on the
 * training split of the whole corpus, and each split's documents encoded back to back with an
 * end-of-text token after each.
 *
 * @module
 */
import { BPETokenizer } from "./bpe.ts";
import { type BrownSplit, documentText, loadBrown } from "./brown.ts";

/** Token streams of the three splits and the tokenizer that made them. */
export interface BrownTokens {
  tokenizer: BPETokenizer;
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

const tokenizers = new Map<number, BPETokenizer>();

/** The BPE tokenizer trained on Brown's training split (cached per vocabulary size). */
export function brownTokenizer(vocabSize = 4096): BPETokenizer {
  let tokenizer = tokenizers.get(vocabSize);
  if (!tokenizer) {
    const texts = loadBrown({ split: "train" }).map(documentText);
    tokenizer = BPETokenizer.train(texts, { vocabSize });
    tokenizers.set(vocabSize, tokenizer);
  }
  return tokenizer;
}

/**
 * Token streams of Brown's splits, optionally restricted to some genre categories (the
 * tokenizer is always the whole corpus's, so streams of different genres share one vocabulary).
 */
export function brownTokens(
  options: { vocabSize?: number; categories?: readonly string[]; tokenizer?: BPETokenizer } = {},
): BrownTokens {
  const tokenizer = options.tokenizer ?? brownTokenizer(options.vocabSize);
  const encode = (split: BrownSplit) =>
    tokenizer.encodeDocuments(
      loadBrown({ split, categories: options.categories }).map(documentText),
    );
  return {
    tokenizer,
    train: encode("train"),
    validation: encode("validation"),
    test: encode("test"),
  };
}
