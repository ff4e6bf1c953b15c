/**
 * `pnpm focus-fl import-vilt FILE.safetensors --out base.safetensors [--heads N] [--seed S]`:
 * turns a Hugging Face ViLT checkpoint (transformers' ViltModel / ViltForQuestionAnswering, e.g.
 * dandelin/vilt-b32-mlm) into this project's int8 base checkpoint: the geometry is read from the
 * tensor shapes (core's hfViltGeometry), the weights mapped by core's importHfVilt, the frozen
 * 2-D weights quantized int8 per channel, seeded adapters and a fresh answer head over the
 * federation's answer vocabulary. Serve it with `pnpm coordinator --config F` where F names it
 * as `checkpoint`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { answerVocabulary } from '@focus-fl/core/data';
import { hfViltGeometry, importHfVilt, readSafetensors, saveModel } from '@focus-fl/core/model';

export const IMPORT_VILT_USAGE =
  'focus-fl import-vilt FILE.safetensors --out base.safetensors [--heads N] [--seed S]';

export interface ImportViltSummary {
  out: string;
  bytes: number;
  config: Record<string, unknown>;
  frozenParams: number;
  ignored: string[];
}

const int = (name: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min)
    throw new Error(`import-vilt: --${name} must be an integer >= ${min}, got "${v}"`);
  return x;
};

/** Converts the file; writes nothing unless the whole import succeeds. */
export function importVilt(argv: string[]): ImportViltSummary {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      heads: { type: 'string' },
      seed: { type: 'string', default: '0' },
    },
  });
  const [file] = positionals;
  if (!file || !values.out) throw new Error(`usage: ${IMPORT_VILT_USAGE}`);
  if (!file.endsWith('.safetensors'))
    throw new Error(
      `import-vilt: "${file}" is not a .safetensors file; convert a PyTorch .bin first (README)`,
    );
  const hf = readSafetensors(new Uint8Array(readFileSync(file)));
  const geometry = hfViltGeometry(hf, { numHeads: int('heads', values.heads, 1) });
  const { model, ignored } = importHfVilt(hf, {
    configOverrides: geometry,
    answers: answerVocabulary(),
    seed: int('seed', values.seed, 0),
    weights: 'int8',
  });
  try {
    const bytes = saveModel(model, { quantize: 'int8' });
    writeFileSync(values.out, bytes);
    return {
      out: values.out,
      bytes: bytes.length,
      config: { ...model.config },
      frozenParams: model.countParams().frozen,
      ignored,
    };
  } finally {
    model.dispose();
  }
}
