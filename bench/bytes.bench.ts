// Bytes per round for each codec and strategy (docs/method.md §3, "Communication"), on the `tiny` model and on
// the `vilt-b32` shapes, next to full fine-tuning (docs/method.md §3, Table 2: F3OCUS 9.7 MBit vs
// full 3915.2 MBit per round and direction, i.e. 0.30 M vs 122.35 M params x 32 bit).
//
// Shapes come from the model's own parameter table (paramSpecs; no tfjs model is built).
// Per round: every client sends its assigned adapters + the head (up); the server sends every
// client the layers that changed this round + the head (down, as protocol.ts's incremental
// GlobalWeights). Tiny updates are really encoded; vilt-b32 sizes come from `encodedSize`
// (exact; checked against a real encoding of one client's update).
import { PRESETS, type ModelConfig } from '../packages/core/src/model/config.js';
import { paramSpecs, trainableLayerNames } from '../packages/core/src/model/params.js';
import {
  CODECS,
  createStrategy,
  decodeUpdate,
  encodedSize,
  encodeUpdate,
  type Codec,
  type RoundClient,
} from '../packages/core/src/federated/index.js';
import { gaussian, mulberry32 } from '../packages/core/src/random.js';
import {
  HEAD_LAYER,
  layerOf,
  sizeOf,
  type NamedArrays,
} from '../packages/core/src/tensors/named.js';
import type { BenchResult } from './types.js';

const CLIENTS = 9;
const SEED = 1;
const MBIT = 1e6 / 8; // bytes per MBit (decimal, as the paper's 122.35 M x 32 bit = 3915.2)
const STRATEGIES = ['f3ocus', 'lntk', 'last', 'random', 'full'] as const;
const PAPER = { f3ocusMBit: 9.7, fullMBit: 3915.2, fullParams: 122.35e6, adapterParams: 74_544 };

type Shapes = Record<string, number[]>;

function shapesOf(c: ModelConfig): { trainable: Shapes; all: number } {
  const trainable: Shapes = {};
  let all = 0;
  for (const s of paramSpecs(c)) {
    all += sizeOf(s.shape);
    if (!s.frozen) trainable[s.name] = s.shape;
  }
  return { trainable, all };
}

function paramsOfLayers(shapes: Shapes, layers: Iterable<string>): Shapes {
  const want = new Set(layers);
  return Object.fromEntries(Object.entries(shapes).filter(([n]) => want.has(layerOf(n))));
}

const count = (s: Shapes) => Object.values(s).reduce((a, sh) => a + sizeOf(sh), 0);

function randomNamed(shapes: Shapes, seed: number): NamedArrays {
  const r = mulberry32(seed);
  const out: NamedArrays = {};
  for (const [n, sh] of Object.entries(shapes)) {
    out[n] = {
      shape: sh,
      data: Float32Array.from({ length: sizeOf(sh) }, () => 1e-3 * gaussian(r)),
    };
  }
  return out;
}

/** Synthetic normalised LNTK-like scores (bytes depend only on how many layers are picked). */
function clients(layers: string[], budget: number): RoundClient[] {
  const r = mulberry32(SEED);
  return Array.from({ length: CLIENTS }, (_, i) => {
    const raw = layers.map(() => -Math.log(1 - r()));
    const s = raw.reduce((a, b) => a + b, 0);
    return {
      name: `site${i}`,
      budget,
      numSamples: 100,
      scores: { layers, scores: raw.map((v) => v / s) },
    };
  });
}

function bytesOf(shapes: Shapes, codec: Codec, real: boolean, seed: number): number {
  if (Object.keys(shapes).length === 0) return 0;
  return real
    ? encodeUpdate(randomNamed(shapes, seed), codec).byteLength
    : encodedSize(shapes, codec);
}

async function measure(
  c: ModelConfig,
  budget: number,
  real: boolean,
): Promise<Record<string, unknown>[]> {
  const { trainable, all } = shapesOf(c);
  const layers = trainableLayerNames(c);
  const head = paramsOfLayers(trainable, [HEAD_LAYER]);
  const rows: Record<string, unknown>[] = [];
  const fullFtMBit = (all * 4) / MBIT;
  rows.push({
    model: c.name,
    strategy: 'full fine-tuning',
    codec: 'fp32 raw',
    layersPerClient: '-',
    paramsUpPerClient: all,
    upMBitPerClient: +fullFtMBit.toFixed(2),
    adaptersOnlyMBit: '-',
    downMBitPerClient: +fullFtMBit.toFixed(2),
    roundTotalMB: +((2 * CLIENTS * all * 4) / 1e6).toFixed(2),
    vsFullFt: 1,
  });
  for (const name of STRATEGIES) {
    const plan = await createStrategy(name, { maxEvaluations: 5000 }).configureRound({
      round: 1,
      clients: clients(layers, budget),
      layers,
      seed: SEED,
    });
    const assigned = Object.values(plan.assignments);
    const changed = new Set(assigned.flat());
    for (const codec of CODECS) {
      let up = 0;
      let upAdapters = 0;
      let params = 0;
      assigned.forEach((ls, i) => {
        const adapters = paramsOfLayers(trainable, ls);
        params += count(adapters);
        up += bytesOf({ ...adapters, ...head }, codec, real, i);
        upAdapters += bytesOf(adapters, codec, real, i);
      });
      const downEach = bytesOf(
        paramsOfLayers(trainable, [...changed, HEAD_LAYER]),
        codec,
        real,
        99,
      );
      const upPer = up / CLIENTS / MBIT;
      rows.push({
        model: c.name,
        strategy: name,
        codec,
        layersPerClient: +(assigned.reduce((a, l) => a + l.length, 0) / CLIENTS).toFixed(2),
        paramsUpPerClient: Math.round(params / CLIENTS),
        upMBitPerClient: +upPer.toFixed(3),
        adaptersOnlyMBit: +(upAdapters / CLIENTS / MBIT).toFixed(3),
        downMBitPerClient: +(downEach / MBIT).toFixed(3),
        roundTotalMB: +((up + CLIENTS * downEach) / 1e6).toFixed(3),
        vsFullFt: +(upAdapters / CLIENTS / MBIT / fullFtMBit).toExponential(2),
      });
    }
  }
  return rows;
}

function throughput(shapes: Shapes): Record<string, unknown>[] {
  const d = randomNamed(shapes, 5);
  const n = count(shapes);
  return CODECS.map((codec) => {
    // Best of 3: the machine is shared, single runs are noisy.
    let enc = Infinity;
    let dec = Infinity;
    let bytes: Uint8Array = new Uint8Array();
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      bytes = encodeUpdate(d, codec);
      const t1 = performance.now();
      decodeUpdate(bytes, shapes);
      const t2 = performance.now();
      enc = Math.min(enc, t1 - t0);
      dec = Math.min(dec, t2 - t1);
    }
    return {
      model: 'vilt-b32',
      strategy: 'codec speed (4 adapters + head)',
      codec,
      paramsUpPerClient: n,
      encodeMs: +enc.toFixed(1),
      decodeMs: +dec.toFixed(1),
      bytes: bytes.byteLength,
      exactEncodedSize: encodedSize(shapes, codec) === bytes.byteLength,
    };
  });
}

export async function run(): Promise<BenchResult> {
  const vilt = PRESETS['vilt-b32'];
  const tiny = PRESETS.tiny;
  // docs/method.md §3: Pfeiffer adapter (down H x H/16 + bias, up H/16 x H + bias) on hidden 768.
  const H = vilt.hidden;
  const r = H / 16;
  const byFormula = H * r + r + r * H + H;
  const { trainable } = shapesOf(vilt);
  const byModel = count(paramsOfLayers(trainable, ['block0.adapter']));
  if (byFormula !== PAPER.adapterParams || byModel !== PAPER.adapterParams) {
    throw new Error(
      `adapter params: formula ${byFormula}, model ${byModel}, paper ${PAPER.adapterParams}`,
    );
  }
  const viltAll = shapesOf(vilt).all;
  const rows = [...(await measure(tiny, 2, true)), ...(await measure(vilt, 4, false))];
  const four = paramsOfLayers(trainable, trainableLayerNames(vilt).slice(0, 4));
  rows.push(...throughput({ ...four, ...paramsOfLayers(trainable, [HEAD_LAYER]) }));
  const fourMBit = (count(four) * 32) / 1e6;
  const fourEncoded = encodedSize(four, 'fp32') / MBIT;
  return {
    name: 'bytes',
    rows,
    notes: [
      `vilt-b32 adapter: ${byFormula} params by formula (2*768*48 + 48 + 768) = ${byModel} in the model's parameter table = docs/method.md §3's 74,544.`,
      `4 vilt-b32 adapters = ${count(four)} params = ${fourMBit.toFixed(2)} MBit raw fp32, ${fourEncoded.toFixed(3)} MBit encoded (names/shapes overhead included); paper: ${PAPER.f3ocusMBit} MBit (0.30 M rounded); full fine-tuning: paper ${PAPER.fullMBit} MBit (${PAPER.fullParams / 1e6} M params), our vilt-b32 preset ${(viltAll / 1e6).toFixed(2)} M params = ${((viltAll * 32) / 1e6).toFixed(1)} MBit.`,
      `Ratio adapters-only/full: ours ${(fourMBit / ((viltAll * 32) / 1e6)).toExponential(2)}, paper ${(PAPER.f3ocusMBit / PAPER.fullMBit).toExponential(2)}; fp16 halves and int8 quarters it again.`,
      `The head (vilt-b32: 768 x 3129 + 3129 = ${count(paramsOfLayers(trainable, [HEAD_LAYER]))} params) is trained and sent by every client in this system and dominates upMBitPerClient on vilt-b32; the paper's 0.30 M counts adapters only, compare adaptersOnlyMBit.`,
      'f3ocus may leave a budget slot unused where that lowers the diversity penalty, so its layersPerClient can be below the budget; lntk stands for every client-scored baseline (all take exactly top-B).',
      `${CLIENTS} clients; budgets: tiny 2 of ${tiny.numLayers} layers, vilt-b32 4 of ${vilt.numLayers}. MBit = 1e6 bit.`,
    ],
  };
}
