import { describe, expect, it } from 'vitest';
import { BertTokenizer, CLS_ID, defaultTokenizer, SEP_ID } from '../src/model/tokenizer.js';

describe('BERT uncased WordPiece tokenizer', () => {
  const tok = defaultTokenizer();
  it('matches bert-base-uncased ids', () => {
    expect(tok.encodeIds('hello world')).toEqual([101, 7592, 2088, 102]);
    expect(tok.encodeIds('Hello, World!')).toEqual([101, 7592, 1010, 2088, 999, 102]);
    expect(tok.tokenize('pneumothorax')).toEqual(['p', '##ne', '##um', '##otho', '##ra', '##x']);
    expect(tok.vocabSize).toBe(30522);
  });

  it('pads and truncates to a fixed length keeping [CLS] ... [SEP]', () => {
    const e = tok.encode('hello world', 6);
    expect(Array.from(e.ids)).toEqual([101, 7592, 2088, 102, 0, 0]);
    expect(Array.from(e.mask)).toEqual([1, 1, 1, 1, 0, 0]);
    const t = tok.encode('what colour is the big circle on the left?', 5);
    expect(t.ids[0]).toBe(CLS_ID);
    expect(t.ids[4]).toBe(SEP_ID);
    expect(Array.from(t.mask)).toEqual([1, 1, 1, 1, 1]);
    expect(() => tok.encode('x', 1)).toThrow(/maxLen must be an integer >= 2/);
  });

  it('accepts the tokenizer JSON as a parameter and rejects non-WordPiece JSON', () => {
    expect(() => new BertTokenizer({ model: {} })).toThrow(/missing model.vocab/);
  });
});
