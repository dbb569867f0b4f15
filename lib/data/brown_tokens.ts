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
  /** The BPE tokenizer trained on Brown's training split. */
  tokenizer: BPETokenizer;
  /** Training tokens, documents separated by the end-of-text token. */
  train: Int32Array;
  /** Validation tokens. */
  validation: Int32Array;
  /** Test tokens. */
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
  options: {
    vocabSize?: number;
    categories?: readonly string[];
    tokenizer?: BPETokenizer;
    /** Only every other training document (0: the 1st, 3rd, …; 1: the 2nd, 4th, …), so that two
     * models (a teacher and a student) can train on disjoint halves. Validation and test whole. */
    trainHalf?: 0 | 1;
    /** Only the first `trainTokens` tokens of the training stream (after the filters above): a
     * small fine-tuning set, as in DistiLLM's instruction tuning. Validation and test whole. */
    trainTokens?: number;
  } = {},
): BrownTokens {
  const tokenizer = options.tokenizer ?? brownTokenizer(options.vocabSize);
  const { trainHalf } = options;
  if (trainHalf !== undefined && trainHalf !== 0 && trainHalf !== 1) {
    throw new Error(`brownTokens: trainHalf must be 0 or 1, got ${trainHalf}`);
  }
  const encode = (split: BrownSplit) =>
    tokenizer.encodeDocuments(
      loadBrown({ split, categories: options.categories })
        .filter((_, i) => split !== "train" || trainHalf === undefined || i % 2 === trainHalf)
        .map(documentText),
    );
  const train = encode("train");
  const { trainTokens } = options;
  if (trainTokens !== undefined) {
    if (!Number.isInteger(trainTokens) || trainTokens < 1 || trainTokens > train.length) {
      throw new Error(
        `brownTokens: trainTokens must be an integer in [1, ${train.length}] (the training ` +
          `tokens of this selection), got ${trainTokens}`,
      );
    }
  }
  return {
    tokenizer,
    train: trainTokens === undefined ? train : train.slice(0, trainTokens),
    validation: encode("validation"),
    test: encode("test"),
  };
}
