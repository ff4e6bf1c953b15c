// `pnpm --silent cli finetune --client <name> --steps N --seed S [--json] [--backend wasm|cpu]
//   [--lr 3e-3] [--batch 32] [--layers all|block0.adapter,block5.adapter]`
// Loads the pretrained int8 tiny base, puts a fresh head over the global answer vocabulary,
// fine-tunes adapters (+ head) on a synthetic client and reports held-out accuracy before/after.
import { answerVocabulary, CLIENT_NAMES, syntheticClient, type ClientName } from '../data/index.js';
import { frozenBytes, loadModel } from '../model/index.js';
import { initNodeBackend, readTinyBase, type NodeBackend } from '../node/index.js';
import { evaluate, majorityBaseline, trainLayers } from '../train/index.js';

interface Args {
  client: ClientName;
  steps: number;
  seed: number;
  json: boolean;
  backend: NodeBackend;
  lr: number;
  batch: number;
  layers: string | null;
}

function parse(argv: string[]): Args {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(`--${flag}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${flag} needs a value`);
    return v;
  };
  const num = (flag: string, def: number, int: boolean): number => {
    const raw = get(flag);
    if (raw === undefined) return def;
    const v = Number(raw);
    if (!Number.isFinite(v) || (int && (!Number.isInteger(v) || v < 0)))
      throw new Error(
        `--${flag} must be a ${int ? 'non-negative integer' : 'number'}, got "${raw}"`,
      );
    return v;
  };
  const client = get('client');
  if (!client || !(CLIENT_NAMES as readonly string[]).includes(client)) {
    throw new Error(
      `${client ? `unknown client "${client}"` : '--client is required'}; valid clients: ${CLIENT_NAMES.join(', ')}`,
    );
  }
  const backend = get('backend') ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu')
    throw new Error(`--backend must be wasm or cpu, got "${backend}"`);
  return {
    client: client as ClientName,
    steps: num('steps', 100, true),
    seed: num('seed', 1, true),
    json: argv.includes('--json'),
    backend,
    lr: num('lr', 3e-3, false),
    batch: num('batch', 32, true),
    layers: get('layers') ?? null,
  };
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    console.error(`cli finetune: ${(e as Error).message}`);
    return 2;
  }
  const backend = await initNodeBackend(args.backend);
  const data = syntheticClient(args.client, { seed: args.seed });
  const model = loadModel(readTinyBase(), { seed: args.seed });
  // The checkpoint's head answers the pretraining task; VQA needs a fresh head over the global
  // answer vocabulary (seeded, small random init, not zero: see model/params.ts headSpecs).
  model.resetHead(answerVocabulary(), args.seed);
  const layers =
    args.layers === null || args.layers === 'all'
      ? model.layerNames()
      : args.layers.split(',').map((s) => s.trim());
  const base = await evaluate(model, data.test);
  const trained =
    args.steps > 0
      ? await trainLayers(model, data.train, {
          layers,
          steps: args.steps,
          batchSize: args.batch,
          lr: args.lr,
          seed: args.seed,
        })
      : null;
  const tuned = await evaluate(model, data.test);
  const fb = frozenBytes(model.config);
  const result = {
    client: args.client,
    baseAccuracy: base.accuracy,
    finetunedAccuracy: tuned.accuracy,
    trainableParams: model
      .trainableParamNames(layers)
      .reduce((a, n) => a + model.tensor(n).size, 0),
    frozenParams: fb.frozenParams,
    frozenBytesInt8: fb.int8,
    frozenBytesFp32: fb.fp32,
    stepsPerSecond: trained ? trained.metrics.stepsPerSecond : 0,
    backend,
  };
  if (args.json) {
    console.log(JSON.stringify(result));
  } else {
    const maj = majorityBaseline(data.train, data.test);
    console.log(
      `client ${args.client}: ${data.train.length} train / ${data.test.length} test samples, ${answerVocabulary().length} answers`,
    );
    console.log(
      `base (fresh head) ${(100 * base.accuracy).toFixed(1)}%  ->  fine-tuned ${(100 * tuned.accuracy).toFixed(1)}%  (majority "${maj.answer}" ${(100 * maj.accuracy).toFixed(1)}%)`,
    );
    for (const [t, v] of Object.entries(tuned.perType))
      console.log(`  ${t}: ${(100 * v.accuracy).toFixed(1)}% of ${v.n}`);
    console.log(
      `trained ${result.trainableParams} params (${layers.length} adapters + head), frozen ${fb.frozenParams} (${fb.int8} B int8 vs ${fb.fp32} B fp32), ${result.stepsPerSecond.toFixed(2)} steps/s on ${backend}`,
    );
  }
  model.dispose();
  return 0;
}
