// Speed measurements of the current tfjs backend, shared by bench/train.bench.ts (Node) and the
// site page's backend probe (apps/browser-client): the backend's large-matmul GFLOP/s (a
// practical ceiling), a per-kernel profile of a function, and the time of a real training step
// of the model (forward + backward of every adapter and the head, without updating it).
import * as tf from '@tensorflow/tfjs';
import { disposeBatch, encodeBatch, type SampleLike } from '../model/batch.js';
import type { VqaModel } from '../model/vqa-model.js';
import { lossAndGrads } from './grads.js';

/** A clock in ms: CPU time in Node benches (process.cpuUsage), performance.now elsewhere. */
export type Clock = () => number;

const wallClock: Clock = () => performance.now();

/** ms per [m, k] x [k, n] product (after a warm-up) and the GFLOP/s it reaches. */
export function matmulGflops(
  m: number,
  k: number,
  n: number,
  reps: number,
  clock: Clock = wallClock,
): { ms: number; gflops: number } {
  const a = tf.randomNormal([m, k]);
  const b = tf.randomNormal([k, n]);
  try {
    const once = () => tf.tidy(() => void tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D).dataSync());
    once();
    const t0 = clock();
    for (let i = 0; i < reps; i++) once();
    const ms = (clock() - t0) / reps;
    return { ms, gflops: (2 * m * k * n) / ms / 1e6 };
  } finally {
    tf.dispose([a, b]);
  }
}

export interface KernelTime {
  /** Kernel name; BatchMatMul split into 2-D products and batched (attention) ones. */
  name: string;
  kernels: number;
  ms: number;
}

/** Kernel times of one call of `f` (tf.profile), largest first, and their sum. */
export async function kernelProfile(
  f: () => Promise<unknown> | unknown,
): Promise<{ total: number; count: number; byKernel: KernelTime[] }> {
  const prof = await tf.profile(async () => {
    await f();
  });
  const by = new Map<string, KernelTime>();
  let total = 0;
  let count = 0;
  for (const k of prof.kernels) {
    // tf.customGrad's forward function is listed as a kernel enclosing the kernels it runs
    // (listed too): counting it would count them twice.
    if (k.name === 'forward') continue;
    count += 1;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    total += ms;
    let name = k.name;
    if (name === 'BatchMatMul')
      name =
        (k.inputShapes[0] as number[]).length > 2 ? 'BatchMatMul (batched)' : 'BatchMatMul (2-D)';
    const e = by.get(name) ?? { name, kernels: 0, ms: 0 };
    e.kernels += 1;
    e.ms += ms;
    by.set(name, e);
  }
  return {
    total,
    count,
    byKernel: [...by.values()].sort((a, b) => b.ms - a.ms),
  };
}

/**
 * Median ms of a training step's compute on this backend: loss and gradients of every adapter
 * and the head on `batchSize` samples (the most expensive selection), `steps` times after one
 * warm-up. The model is not changed.
 */
export async function probeStepMs(
  model: VqaModel,
  samples: readonly SampleLike[],
  opts: {
    batchSize?: number;
    steps?: number;
    clock?: Clock;
    /** Checked before every step: true = give up (the probe then resolves NaN). */
    stop?: () => boolean;
  } = {},
): Promise<number> {
  if (samples.length === 0) throw new Error('probeStepMs: samples is empty');
  const clock = opts.clock ?? wallClock;
  const batch = encodeBatch(samples.slice(0, opts.batchSize ?? 16), {
    config: model.config,
    answers: model.answers,
    allowUnknownAnswers: true,
  });
  const names = model.trainableParamNames(model.layerNames());
  const times: number[] = [];
  try {
    for (let i = 0; i <= (opts.steps ?? 3); i++) {
      if (opts.stop?.()) return NaN;
      const t0 = clock();
      const { loss, grads } = lossAndGrads(model, batch, names);
      await loss.data();
      tf.dispose([loss, ...Object.values(grads)]);
      if (i > 0) times.push(clock() - t0); // the first call compiles kernels / packs weights
    }
  } finally {
    disposeBatch(batch);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
