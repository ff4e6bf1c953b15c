// BERT uncased WordPiece (30,522 ids) through @huggingface/tokenizers, built from the committed
// assets/tokenizer.json (scripts/build-tokenizer.ts). No fs: the JSON is imported as a module
// (bundled by Vite for the worker, loaded by tsx/Vitest in Node) or passed in by the caller.
import { Tokenizer } from '@huggingface/tokenizers';
import defaultTokenizerJson from '../../assets/tokenizer.json';

export const PAD_ID = 0;
export const CLS_ID = 101;
export const SEP_ID = 102;

export interface EncodedText {
  /** Token ids, padded with [PAD] (0) / truncated to `maxLen`, always starting with [CLS]. */
  ids: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  mask: Float32Array;
}

export class BertTokenizer {
  private readonly tok: Tokenizer;
  private readonly cache = new Map<string, number[]>();
  readonly vocabSize: number;

  constructor(json: object = defaultTokenizerJson) {
    const model = (json as { model?: { vocab?: Record<string, number> } }).model;
    if (!model?.vocab)
      throw new Error('tokenizer json: missing model.vocab (not a WordPiece tokenizer.json)');
    this.vocabSize = Object.keys(model.vocab).length;
    this.tok = new Tokenizer(json as never, {} as never);
  }

  /** Ids with [CLS] ... [SEP], unpadded. Questions repeat a lot, so results are cached. */
  encodeIds(text: string): number[] {
    let ids = this.cache.get(text);
    if (!ids) {
      ids = this.tok.encode(text).ids.map(Number);
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(text, ids);
    }
    return ids;
  }

  /** Fixed-length encoding; truncation keeps [SEP] as the last real token. */
  encode(text: string, maxLen: number): EncodedText {
    if (!Number.isInteger(maxLen) || maxLen < 2)
      throw new Error(`maxLen must be an integer >= 2, got ${maxLen}`);
    let ids = this.encodeIds(text);
    if (ids.length > maxLen) ids = [...ids.slice(0, maxLen - 1), SEP_ID];
    const out = new Int32Array(maxLen);
    const mask = new Float32Array(maxLen);
    ids.forEach((id, i) => {
      out[i] = id;
      mask[i] = 1;
    });
    return { ids: out, mask };
  }

  tokenize(text: string): string[] {
    return this.tok.tokenize(text);
  }
}

let shared: BertTokenizer | null = null;
/** The default tokenizer (built once, lazily). */
export function defaultTokenizer(): BertTokenizer {
  shared ??= new BertTokenizer();
  return shared;
}
