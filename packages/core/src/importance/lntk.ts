import * as tf from '@tensorflow/tfjs';
import { gaussian, mulberry32 } from '../random.js';
import { type Differentiable, paramNamesOf, range } from './differentiable.js';
import { topEigenvalue } from './eigen.js';

/**
 * Which scalar outputs of the logits z (K classes) form the rows of the Jacobian J
 * (docs/method.md §1: Theta_l is (n*kappa) x (n*kappa)). Each kernel is a set of fixed output
 * vectors v_j; the row for sample i and output j is d(v_j . z_i)/d theta_l.
 *
 * - `true-logit` (default, kappa = 1): v = e_y - 1/K, the sample's true-answer logit minus the
 *   mean logit. Why: softmax is invariant to adding a constant to every logit, so the
 *   component of the Jacobian along the all-ones output direction never changes a prediction;
 *   centring removes it. Of the remaining directions, the true answer's margin is the one the
 *   fine-tuning loss pushes on. kappa = 1 keeps the cost at n backward passes (the <= 2
 *   training steps budget of a round).
 * - `projections` (kappa = `projections`): v_j = P r_j / sqrt(kappa), r_j ~ N(0, I_K) seeded,
 *   P the centring projector. E[sum_j v_j v_j^T] = P, so J_proj^T J_proj is an unbiased
 *   estimate of the full per-output kernel restricted to the softmax-relevant subspace.
 * - `full` (kappa = K): every logit, v_j = e_j. The paper's exact (n*K) x (n*K) kernel; use it
 *   for few classes or to check the others.
 * - `summed` (kappa = 1): v = 1 / sqrt(K), the pNTK. Kept only as a reference: it is exactly
 *   the softmax-invariant direction above, so it measures changes that cannot affect the
 *   answer ("summed logits are poor under softmax": ./README.md).
 */
export type LntkKernel = 'true-logit' | 'projections' | 'full' | 'summed';

export const LNTK_KERNELS: readonly LntkKernel[] = ['true-logit', 'projections', 'full', 'summed'];

export interface LntkOptions {
  kernel?: LntkKernel;
  /** kappa for the `projections` kernel. Default 4. */
  projections?: number;
  /** Seeds the output projections and the probe values. Default 0. */
  seed?: number;
  /**
   * Zero-initialised adapter up-projections make the down-projection's gradient exactly zero,
   * so the score sees only the up-projection and degenerates into a depth proxy (./README.md).
   * With `probe: 'zero-kernels'` every all-zero matrix (rank >= 2 parameter) of a scored layer
   * is replaced, for scoring only, by seeded Gaussian values whose standard deviation is
   * `probeScale` times the RMS of the layer's non-zero matrices (1/sqrt(fan_in) if none), so the Jacobian is taken at a
   * point where both projections are live. Zero biases are left alone (a zero bias does not
   * gate any other gradient). Default 'none': a trained adapter needs no probe.
   */
  probe?: 'none' | 'zero-kernels';
  probeScale?: number;
  /**
   * Take the Jacobian rows from one batched backward pass per output vector when the model
   * supports it (Differentiable.tappedOutput) and every scored parameter is a tapped dense
   * kernel/bias; else (or when false) from one batch-1 backward pass per (sample, vector).
   * Both give the same rows up to float32 rounding. Default true.
   */
  batched?: boolean;
  /** Keep the per-layer Gram matrices in the result (tests, diagnostics). */
  keepGrams?: boolean;
  /**
   * Samples per batched backward pass (default: all at once). The tape of one pass holds the
   * activations of every sample in it, which for a large model is what runs out of memory;
   * the per-sample rows, and so the Grams, do not depend on how the samples are grouped
   * (samples do not interact in the forward). computeLntk (./vqa.ts) sizes it from the
   * backend's memory limits.
   */
  chunkSize?: number;
}

export interface LntkResult {
  layers: string[];
  /** lambda_1(Theta_l) per layer (same order as layers). */
  lambda1: number[];
  /** S[l] = lambda_1(l) / sum_k lambda_1(k) (docs/method.md §1); non-negative, sums to 1. */
  scores: number[];
  elapsedMs: number;
  kernel: LntkKernel;
  /** Rows of J (n * kappa). */
  rows: number;
  /** How the Jacobian rows were computed (see LntkOptions.batched). */
  path?: 'batched' | 'per-sample';
  /** Row-major rows x rows Gram per layer, when keepGrams. */
  grams?: Float64Array[];
}

/** The output vectors v_j (each of length K) of a kernel, or per-sample ones for `true-logit`. */
export function kernelVectors(
  kernel: LntkKernel,
  numClasses: number,
  opts: { projections?: number; seed?: number; label?: number } = {},
): Float32Array[] {
  const K = numClasses;
  switch (kernel) {
    case 'true-logit': {
      const y = opts.label;
      if (y === undefined || !Number.isInteger(y) || y < 0 || y >= K)
        throw new Error(`true-logit kernel: label ${y} is not a class index in [0, ${K})`);
      const v = new Float32Array(K).fill(-1 / K);
      v[y] += 1;
      return [v];
    }
    case 'summed':
      return [new Float32Array(K).fill(1 / Math.sqrt(K))];
    case 'full':
      return range(K).map((j) => {
        const v = new Float32Array(K);
        v[j] = 1;
        return v;
      });
    case 'projections': {
      const kappa = opts.projections ?? 4;
      if (!Number.isInteger(kappa) || kappa < 1)
        throw new Error(`projections must be a positive integer, got ${kappa}`);
      const rand = mulberry32((opts.seed ?? 0) ^ 0x5eed);
      return range(kappa).map(() => {
        const r = Float64Array.from({ length: K }, () => gaussian(rand));
        const mean = r.reduce((a, b) => a + b, 0) / K;
        return Float32Array.from(r, (x) => (x - mean) / Math.sqrt(kappa));
      });
    }
    default:
      throw new Error(`unknown LNTK kernel "${String(kernel)}"; valid: ${LNTK_KERNELS.join(', ')}`);
  }
}

/**
 * Replacement values for all-zero matrices of the given layers (see LntkOptions.probe).
 * The caller owns (and disposes) the returned tensors.
 */
export function probeValues(
  model: Differentiable,
  layers: readonly string[],
  seed: number,
  scale = 1,
): Record<string, tf.Tensor> {
  const rand = mulberry32(seed ^ 0x9a0be);
  const out: Record<string, tf.Tensor> = {};
  for (const l of layers) {
    const names = model.paramsOf(l);
    const zeros: string[] = [];
    let sq = 0;
    let count = 0;
    for (const n of names) {
      const t = model.params[n];
      if (t.rank < 2) continue;
      const d = t.dataSync();
      let s = 0;
      for (let i = 0; i < d.length; i++) s += d[i] * d[i];
      if (s === 0) zeros.push(n);
      else {
        sq += s;
        count += d.length;
      }
    }
    if (zeros.length === 0) continue;
    for (const n of zeros) {
      const t = model.params[n];
      // Scale copied from the layer's live matrices; if none, LeCun's 1/sqrt(fan_in).
      const std = scale * (count > 0 ? Math.sqrt(sq / count) : 1 / Math.sqrt(t.shape[0]));
      out[n] = tf.tensor(
        Float32Array.from({ length: t.size }, () => std * gaussian(rand)),
        t.shape,
      );
    }
  }
  return out;
}

/**
 * LNTK scores of every layer of `model` over all its bound samples (docs/method.md §1).
 *
 * Eigen method: the rows of J for all layers come from one batched backward pass per output
 * vector and chunk of `chunkSize` samples (batchedRows) when the model exposes tappedOutput,
 * else from one backward pass per (sample, output vector) — tf.grads over every scored
 * parameter at once. Memory: one pass's tape (a chunk's activations) plus the rows, n * kappa
 * float32 values per scored parameter, never the whole batch's backward. Per layer, the small Gram
 * G_l = J_l J_l^T (rows x rows, float64) has the same non-zero spectrum as Theta_l's
 * J_l^T J_l, and its top eigenvalue is taken exactly by Jacobi (./eigen.ts).
 */
export function lntkOf(model: Differentiable, opts: LntkOptions = {}): LntkResult {
  const started = performance.now();
  const kernel = opts.kernel ?? 'true-logit';
  const seed = opts.seed ?? 0;
  const layers = [...model.layers];
  if (layers.length === 0) throw new Error('LNTK: model has no trainable layers');
  if (model.numSamples < 1) throw new Error('LNTK: numSamples must be >= 1');
  const chunkSize = opts.chunkSize ?? model.numSamples;
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new Error(`LNTK: chunkSize must be a positive integer, got ${String(opts.chunkSize)}`);
  if (opts.probe !== undefined && opts.probe !== 'none' && opts.probe !== 'zero-kernels')
    throw new Error(`probe must be 'none' or 'zero-kernels', got "${String(opts.probe)}"`);
  const names = paramNamesOf(model, layers);
  const probe =
    (opts.probe ?? 'none') === 'zero-kernels'
      ? probeValues(model, layers, seed, opts.probeScale ?? 1)
      : {};
  try {
    const base: Record<string, tf.Tensor> = {};
    for (const n of names) base[n] = probe[n] ?? model.params[n];
    // The number of classes K, from a one-sample forward pass only where it is needed before
    // the first batched pass (the `full` kernel's kappa is K; the per-sample path); otherwise
    // the batched pass reads it off its own logits (that pass costs ~10 % of the whole score).
    let K: number | undefined;
    const classes = () => (K ??= tf.tidy(() => model.output(base, [0]).shape[1]));
    let vectors: Float32Array[][] | undefined;
    const vectorsFor = (numClasses: number): Float32Array[][] => {
      if (!vectors) {
        const shared =
          kernel === 'true-logit'
            ? undefined
            : kernelVectors(kernel, numClasses, { projections: opts.projections, seed });
        vectors = range(model.numSamples).map(
          (i) => shared ?? kernelVectors(kernel, numClasses, { label: model.labels[i] }),
        );
      }
      return vectors;
    };
    // kappa, and the kernel and its options checked, before any pass.
    const kappa =
      kernel === 'full'
        ? classes()
        : kernelVectors(kernel, 2, { projections: opts.projections, seed, label: 0 }).length;
    const batched =
      opts.batched === false || !model.tappedOutput
        ? undefined
        : batchedRows(model, base, names, vectorsFor, kappa, chunkSize);
    const rows = batched ?? perSampleRows(model, base, names, vectorsFor(classes()));
    const m = rows[names[0]].length;
    const lambda1: number[] = [];
    const grams: Float64Array[] = [];
    for (const l of layers) {
      const G = new Float64Array(m * m);
      for (const n of model.paramsOf(l)) accumulateGram(G, rows[n], m);
      for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) G[a * m + b] = G[b * m + a];
      // lambda_1 of a PSD matrix; clamp the rounding-level negative of an all-zero Gram.
      lambda1.push(Math.max(0, topEigenvalue(G, m)));
      if (opts.keepGrams) grams.push(G);
    }
    const total = lambda1.reduce((a, b) => a + b, 0);
    if (!(total > 0) || !Number.isFinite(total))
      throw new Error(
        `LNTK: every layer's Jacobian is zero (sum of lambda_1 = ${total}). A zero-initialised ` +
          'answer head zeroes every adapter gradient: warm up or initialise the head first.',
      );
    return {
      layers,
      lambda1,
      scores: lambda1.map((x) => x / total),
      elapsedMs: performance.now() - started,
      kernel,
      rows: m,
      path: batched ? 'batched' : 'per-sample',
      grams: opts.keepGrams ? grams : undefined,
    };
  } finally {
    for (const t of Object.values(probe)) t.dispose();
  }
}

/**
 * rows[name][r] = gradient row r (sample i, output vector j: r = i * kappa + j) restricted to
 * parameter `name`, from one batch-1 backward pass per row. The reference path.
 */
function perSampleRows(
  model: Differentiable,
  base: Record<string, tf.Tensor>,
  names: readonly string[],
  vectors: readonly Float32Array[][],
): Record<string, Float32Array[]> {
  const rows: Record<string, Float32Array[]> = {};
  for (const n of names) rows[n] = [];
  const xs = names.map((n) => base[n]);
  vectors.forEach((vs, i) => {
    for (const v of vs) {
      const gs = tf.tidy(() => {
        const vt = tf.tensor2d(v, [1, v.length]);
        return tf.grads((...args: tf.Tensor[]) => {
          const p: Record<string, tf.Tensor> = {};
          names.forEach((n, j) => (p[n] = args[j]));
          return tf.sum(tf.mul(model.output(p, [i]), vt)) as tf.Scalar;
        })(xs);
      });
      names.forEach((n, j) => {
        rows[n].push((gs[j].dataSync() as Float32Array).slice());
        gs[j].dispose();
      });
    }
  });
  return rows;
}

/**
 * The same rows as perSampleRows from one batched backward pass per output vector j and chunk
 * of at most `chunkSize` samples.
 * For a dense op Y = X W + b inside a forward where samples do not interact, the row of
 * sample i is dW = X_i^T D_i and db = sum_t D_i[t], with D_i = d(v_ij . z_i)/dY_i. Since
 * sample i's logits depend on Y_i only, D for every sample of a chunk at once is the gradient
 * of F = sum_i v_ij . z_i with respect to Y. Each tapped Y goes through a custom op of
 * inputs (y, s), value y (s a zero scalar, the one input of tf.grads, so the pass reaches
 * every tap), whose gradient function records its upstream gradient dF/dY = D before passing
 * it on.
 * Returns undefined (caller falls back) unless every scored parameter is the kernel or bias
 * of exactly one tapped op.
 */
function batchedRows(
  model: Differentiable,
  base: Record<string, tf.Tensor>,
  names: readonly string[],
  vectorsFor: (numClasses: number) => readonly Float32Array[][],
  kappa: number,
  chunkSize: number,
): Record<string, Float32Array[]> | undefined {
  if (!model.tappedOutput) return undefined;
  const n = model.numSamples;
  const rows: Record<string, Float32Array[]> = {};
  for (const nm of names) rows[nm] = new Array<Float32Array>(n * kappa);
  const s = tf.scalar(0);
  try {
    for (let start = 0; start < n; start += chunkSize) {
      const idx = range(Math.min(chunkSize, n - start)).map((k) => start + k);
      for (let j = 0; j < kappa; j++)
        if (!chunkRows(model, base, names, vectorsFor, kappa, idx, j, s, rows)) return undefined;
    }
    return rows;
  } finally {
    s.dispose();
  }
}

/** Rows of samples `idx` for output vector j (see batchedRows); false if not every scored
 * parameter is tapped exactly once. */
function chunkRows(
  model: Differentiable,
  base: Record<string, tf.Tensor>,
  names: readonly string[],
  vectorsFor: (numClasses: number) => readonly Float32Array[][],
  kappa: number,
  idx: readonly number[],
  j: number,
  s: tf.Scalar,
  rows: Record<string, Float32Array[]>,
): boolean {
  const tappedOutput = model.tappedOutput!;
  const n = idx.length;
  const scored = new Set(names);
  const ops: { kernel: string; bias: string; x: tf.Tensor; d?: tf.Tensor }[] = [];
  try {
    const seen = new Set<string>();
    let ok = true;
    tf.tidy(() => {
      tf.grads((s0: tf.Tensor) => {
        const z = tappedOutput(base, idx, (op, x, y) => {
          if (!scored.has(op.kernel) && !scored.has(op.bias)) return y;
          if (seen.has(op.kernel) || seen.has(op.bias) || x.rank !== 3 || y.rank !== 3) ok = false;
          seen.add(op.kernel).add(op.bias);
          const rec: (typeof ops)[number] = { ...op, x: tf.keep(x) };
          ops.push(rec);
          // customGrad's inputs are typed as tensors or its save function; ours are tensors.
          // The value is y itself (a clone shares y's buffer: no add kernel per tap); s is an
          // input of the op all the same, which is what puts the tap on s's backward path.
          const record = tf.customGrad((...args: unknown[]) => {
            const [yy, ss] = args as tf.Tensor[];
            return {
              value: yy.clone(),
              gradFunc: (dy: tf.Tensor) => {
                rec.d = tf.keep(dy.clone());
                // s exists only so that the pass reaches every tap; its own gradient (the sum
                // of dy over the taps) is never read, so it is returned as zero instead of
                // reducing dy once per tap (a clone of s, which is zero: no fill kernel).
                return [dy, ss.clone()];
              },
            };
          });
          return record(y, s0);
        });
        // F = sum_i v_ij . z_i, the vectors built for the logits' K.
        const numClasses = z.shape[1];
        const vectors = vectorsFor(numClasses);
        const flat = new Float32Array(n * numClasses);
        idx.forEach((i, k) => flat.set(vectors[i][j], k * numClasses));
        return tf.sum(tf.mul(z, tf.tensor2d(flat, [n, numClasses]))) as tf.Scalar;
      })([s]);
    });
    if (!ok || names.some((nm) => !seen.has(nm)) || ops.some((o) => !o.d)) return false;
    // One ones [n, 1, L] per sequence length L (every tap of a model shares one).
    const ones = new Map<number, tf.Tensor>();
    for (const o of ops) {
      const L = o.d!.shape[1] as number;
      if (!ones.has(L)) ones.set(L, tf.ones([n, 1, L]));
    }
    try {
      for (const o of ops) {
        // Per-sample kernel gradients [n, in, out] and bias gradients [n, out]; the bias rows as
        // a product with ones (on wasm ~5x faster than tf.sum over the middle axis, which
        // transposes first; the same sums in another order).
        const [gk, gb] = tf.tidy(() => [
          tf.matMul(o.x, o.d!, true, false).reshape([n, -1]),
          tf.matMul(ones.get(o.d!.shape[1] as number)!, o.d!).reshape([n, -1]),
        ]);
        for (const [nm, t] of [
          [o.kernel, gk],
          [o.bias, gb],
        ] as const) {
          if (scored.has(nm)) {
            // Views into one array instead of a copy per sample (~2.5 ms of a 40 ms score on
            // wasm). The wasm backend's readback is already a fresh copy; other backends may
            // hand out their own storage, so that is copied once.
            const read = t.dataSync() as Float32Array;
            const d = tf.getBackend() === 'wasm' ? read : read.slice();
            const w = d.length / n;
            idx.forEach((i, k) => (rows[nm][i * kappa + j] = d.subarray(k * w, (k + 1) * w)));
          }
          t.dispose();
        }
      }
    } finally {
      tf.dispose([...ones.values()]);
    }
    return true;
  } finally {
    for (const o of ops) tf.dispose(o.d ? [o.x, o.d] : [o.x]);
  }
}

/**
 * G[a][b] += <rows[a], rows[b]> for b >= a, in float64. Register tiles of two rows a, a + 1 by
 * four columns b: each loaded element serves several of eight running sums (eight independent
 * dependency chains), where one row by four columns loads five elements for four products.
 * Each entry is still one running sum over k in order, added once to G: the same values as
 * the untiled loop, bit for bit. The tile of rows (a, a + 1) starts at column a, so it also
 * sums entry (a + 1, a) below the diagonal, which the caller overwrites from (a, a + 1).
 */
function accumulateGram(G: Float64Array, rows: readonly Float32Array[], m: number): void {
  let a = 0;
  for (; a + 1 < m; a += 2) {
    const ra = rows[a];
    const rc = rows[a + 1];
    const len = ra.length;
    const ga = a * m;
    const gc = ga + m;
    let b = a;
    for (; b + 3 < m; b += 4) {
      const r0 = rows[b];
      const r1 = rows[b + 1];
      const r2 = rows[b + 2];
      const r3 = rows[b + 3];
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      for (let k = 0; k < len; k++) {
        const x = ra[k];
        const y = rc[k];
        const v0 = r0[k];
        const v1 = r1[k];
        const v2 = r2[k];
        const v3 = r3[k];
        a0 += x * v0;
        a1 += x * v1;
        a2 += x * v2;
        a3 += x * v3;
        c0 += y * v0;
        c1 += y * v1;
        c2 += y * v2;
        c3 += y * v3;
      }
      G[ga + b] += a0;
      G[ga + b + 1] += a1;
      G[ga + b + 2] += a2;
      G[ga + b + 3] += a3;
      G[gc + b] += c0;
      G[gc + b + 1] += c1;
      G[gc + b + 2] += c2;
      G[gc + b + 3] += c3;
    }
    for (; b < m; b++) {
      const rb = rows[b];
      let sa = 0;
      let sc = 0;
      for (let k = 0; k < len; k++) {
        const v = rb[k];
        sa += ra[k] * v;
        sc += rc[k] * v;
      }
      G[ga + b] += sa;
      G[gc + b] += sc;
    }
  }
  // An odd m leaves the last row, whose only upper entry is the diagonal.
  if (a < m) {
    const ra = rows[a];
    let s = 0;
    for (let k = 0; k < ra.length; k++) s += ra[k] * ra[k];
    G[a * m + a] += s;
  }
}
