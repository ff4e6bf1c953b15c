// AdamW (Loshchilov & Hutter 2019): Adam moments plus decoupled weight decay,
//   m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
//   p <- p - lr * ( m_hat / (sqrt(v_hat) + eps) + wd * p ).
// tf.train.adam has no decoupled decay, hence this small optimizer over named variables.
// On the wasm backend with SIMD the update of every tensor runs as one fused kernel
// (model/fused-ops.ts): the same float32 operations in the same order.
import * as tf from '@tensorflow/tfjs';
import { fusedAdamW, fusedKernelsActive, type AdamWSlot } from '../model/fused-ops.js';

export interface AdamWOptions {
  lr: number;
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;

  constructor(private readonly opts: AdamWOptions) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    if (!(opts.lr > 0)) throw new Error(`AdamW: lr must be > 0, got ${opts.lr}`);
    if (!(opts.weightDecay >= 0))
      throw new Error(`AdamW: weightDecay must be >= 0, got ${opts.weightDecay}`);
  }

  /** One update of every variable that has a gradient; `lr` overrides the base rate (schedules). */
  step(
    vars: Record<string, tf.Variable>,
    grads: Record<string, tf.Tensor>,
    lr = this.opts.lr,
  ): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps } = this;
    const bc1 = 1 - b1 ** this.t;
    const bc2 = 1 - b2 ** this.t;
    const wd = this.opts.weightDecay;
    const entries = Object.entries(grads).map(([name, g]) => {
      const p = vars[name];
      if (!p) throw new Error(`AdamW: gradient for unknown variable "${name}"`);
      return { name, p, g, ...this.moments(name, p) };
    });
    if (fusedKernelsActive()) {
      tf.tidy(() => {
        const next = fusedAdamW(entries as AdamWSlot[], {
          b1,
          c1: 1 - b1,
          b2,
          c2: 1 - b2,
          bc1,
          bc2,
          eps,
          wd,
          lr,
        });
        entries.forEach((e, i) => {
          e.m.assign(next[i].m);
          e.v.assign(next[i].v);
          e.p.assign(next[i].p);
        });
      });
      return;
    }
    tf.tidy(() => {
      for (const { p, g, m, v } of entries) {
        const m1 = m.mul(b1).add(g.mul(1 - b1));
        const v1 = v.mul(b2).add(g.square().mul(1 - b2));
        m.assign(m1);
        v.assign(v1);
        const upd = m1.div(bc1).div(v1.div(bc2).sqrt().add(eps)).add(p.mul(wd));
        p.assign(p.sub(upd.mul(lr)));
      }
    });
  }

  /** The moment variables of `name`, zero on first use. */
  private moments(name: string, p: tf.Variable): { m: tf.Variable; v: tf.Variable } {
    let m = this.m.get(name);
    let v = this.v.get(name);
    if (!m || !v) {
      const zero = () => tf.tidy(() => tf.variable(tf.zerosLike(p), false));
      m = zero();
      v = zero();
      this.m.set(name, m);
      this.v.set(name, v);
    }
    return { m, v };
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
