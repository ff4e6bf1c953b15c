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

/**
 * Kernel times of a call of `f` (tf.profile), largest first, and their sum. With `repeats` > 1
 * `f` is profiled that many times and each kernel (by its position in the run, which repeats
 * identically) keeps its fastest time: on a machine shared with other work a kernel's wall
 * time also holds the moments its thread was preempted, and the minimum drops them.
 */
export async function kernelProfile(
  f: () => Promise<unknown> | unknown,
  repeats = 1,
): Promise<{ total: number; count: number; byKernel: KernelTime[] }> {
  const runs: { name: string; shapes: number[]; ms: number }[][] = [];
  for (let r = 0; r < Math.max(1, repeats); r++) {
    const prof = await tf.profile(async () => {
      await f();
    });
    runs.push(
      prof.kernels
        // tf.customGrad's forward function is listed as a kernel enclosing the kernels it runs
        // (listed too): counting it would count them twice.
        .filter((k) => k.name !== 'forward')
        .map((k) => ({
          name: k.name,
          shapes: (k.inputShapes[0] as number[] | null) ?? [],
          ms: typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0,
        })),
    );
  }
  const first = runs[0];
  const same = runs.every(
    (run) => run.length === first.length && run.every((k, i) => k.name === first[i].name),
  );
  const timeOf = (i: number) => (same ? Math.min(...runs.map((run) => run[i].ms)) : first[i].ms);
  const by = new Map<string, KernelTime>();
  let total = 0;
  first.forEach((k, i) => {
    const ms = timeOf(i);
    total += ms;
    let name = k.name;
    if (name === 'BatchMatMul')
      name = k.shapes.length > 2 ? 'BatchMatMul (batched)' : 'BatchMatMul (2-D)';
    const e = by.get(name) ?? { name, kernels: 0, ms: 0 };
    e.kernels += 1;
    e.ms += ms;
    by.set(name, e);
  });
  return {
    total,
    count: first.length,
    byKernel: [...by.values()].sort((a, b) => b.ms - a.ms),
  };
}

/**
 * Time one kernel dispatch costs on this backend: the per-call time of a 16-element add
 * (engine bookkeeping, kernel lookup, the output's allocation; no arithmetic to speak of).
 */
export function dispatchMs(reps = 2000, clock: Clock = wallClock): number {
  const x = tf.ones([16]);
  try {
    for (let i = 0; i < 50; i++) tf.add(x, x).dispose();
    const t0 = clock();
    for (let i = 0; i < reps; i++) tf.add(x, x).dispose();
    return (clock() - t0) / reps;
  } finally {
    x.dispose();
  }
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
