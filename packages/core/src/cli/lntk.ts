// `pnpm --silent cli lntk --client <name> [--samples 16] [--seed S] [--json]`: LNTK layer scores
// of one synthetic client (docs/method.md §1). --json prints exactly
// {"layers": string[], "lambda1": number[], "scores": number[], "elapsedMs": number}.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CLIENT_NAMES, answerVocabulary, syntheticClient, type ClientName } from '../data/index.js';
import { LNTK_KERNELS, type LntkKernel } from '../importance/lntk.js';
import { computeLntk, type ScoredUnit } from '../importance/vqa.js';
import { createModel, loadModel, type VqaModel } from '../model/index.js';
import { TINY_BASE_PATH, initNodeBackend, type NodeBackend } from '../node/index.js';

const USAGE =
  'usage: cli lntk --client <name> [--samples 16] [--seed 0] [--json] [--backend wasm|cpu] ' +
  `[--kernel ${LNTK_KERNELS.join('|')}] [--unit adapter|block] [--checkpoint file]`;

function int(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min)
    throw new Error(`--${name} must be an integer >= ${min}, got "${v}"`);
  return x;
}

/**
 * The model a client scores with: `checkpoint` if given, else the pretrained int8 tiny base
 * when scripts/pretrain.ts has written it, else a fresh seeded `tiny`. A checkpoint's head
 * (pretraining answers) is replaced by a fresh seeded head over the VQA answer vocabulary.
 */
export function scoringModel(
  seed: number,
  checkpoint?: string,
): { model: VqaModel; source: string } {
  const file = checkpoint ?? (existsSync(TINY_BASE_PATH) ? TINY_BASE_PATH : undefined);
  const vocab = answerVocabulary();
  if (!file)
    return {
      model: createModel('tiny', { seed, answers: vocab }),
      source: 'fresh tiny (no pretrained base found)',
    };
  const model = loadModel(new Uint8Array(readFileSync(file)), { seed });
  if (model.answers.join('\n') !== vocab.join('\n')) model.resetHead(vocab, seed);
  return { model, source: file };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      client: { type: 'string' },
      samples: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      backend: { type: 'string', default: 'wasm' },
      kernel: { type: 'string' },
      unit: { type: 'string' },
      checkpoint: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const client = values.client;
  if (!client || !(CLIENT_NAMES as readonly string[]).includes(client)) {
    console.error(
      `${client ? `unknown client "${client}"` : 'missing --client'}; valid: ${CLIENT_NAMES.join(', ')}`,
    );
    return 2;
  }
  const numSamples = int('samples', values.samples, 16, 1);
  const seed = int('seed', values.seed, 0, 0);
  const kernel = (values.kernel ?? 'true-logit') as LntkKernel;
  if (!LNTK_KERNELS.includes(kernel)) {
    console.error(`unknown --kernel "${kernel}"; valid: ${LNTK_KERNELS.join(', ')}`);
    return 2;
  }
  const unit = (values.unit ?? 'adapter') as ScoredUnit;
  if (unit !== 'adapter' && unit !== 'block') {
    console.error(`unknown --unit "${unit}"; valid: adapter, block`);
    return 2;
  }
  const backend = values.backend as NodeBackend;
  if (backend !== 'wasm' && backend !== 'cpu') {
    console.error(`unknown --backend "${backend}"; valid: wasm, cpu`);
    return 2;
  }
  await initNodeBackend(backend);
  const { model, source } = scoringModel(seed, values.checkpoint);
  if (!values.json) console.log(`model: ${source}`);
  try {
    const { train } = syntheticClient(client as ClientName, { seed });
    const r = computeLntk(model, train, { numSamples, seed, kernel, unit });
    if (values.json) {
      console.log(
        JSON.stringify({
          layers: r.layers,
          lambda1: r.lambda1,
          scores: r.scores,
          elapsedMs: r.elapsedMs,
        }),
      );
    } else {
      console.log(
        `client ${client}, n = ${r.rows} rows, kernel ${r.kernel}, ${r.elapsedMs.toFixed(0)} ms`,
      );
      console.table(
        r.layers.map((l, i) => ({
          layer: l,
          lambda1: r.lambda1[i],
          score: Number(r.scores[i].toFixed(4)),
        })),
      );
    }
    return 0;
  } finally {
    model.dispose();
  }
}
