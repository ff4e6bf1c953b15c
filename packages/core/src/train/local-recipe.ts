// Local-training recipe options beyond AdamW at a constant rate (the federated recipe,
// docs/federated-recipe.md): the local optimiser, a learning-rate schedule and FedProx's
// proximal term (Li et al., MLSys 2020). Kept apart from train.ts so each piece can be tested
// on its own.
import * as tf from '@tensorflow/tfjs';
import {
  ANSWER_MASKS,
  LOCAL_OPTIMIZERS,
  LR_SCHEDULES,
  type AnswerMaskRule,
  type LocalOptimizerName,
  type LrSchedule,
} from './recipe-names.js';
import type { NamedArrays } from '../tensors/named.js';

export {
  ANSWER_MASKS,
  LOCAL_OPTIMIZERS,
  LR_SCHEDULES,
  type AnswerMaskRule,
  type LocalOptimizerName,
  type LrSchedule,
};

export interface LocalRecipe {
  /** 'adamw' (default) or 'sgdm': SGD with heavy-ball momentum and decoupled weight decay. */
  optimizer?: LocalOptimizerName;
  /** Momentum of 'sgdm' (default 0.9). */
  momentum?: number;
  /** After warm-up: constant (default) or cosine decay to 0 over the remaining steps. */
  schedule?: LrSchedule;
  /** FedProx μ: adds μ (w - w_global) to every gradient (default 0 = off). */
  proxMu?: number;
  /** Softmax over the answers of the sample's question type (answer-mask.ts); default 'none'. */
  answerMask?: AnswerMaskRule;
}

/** The rate at `step` (0-based) of `steps`: linear warm-up over `warm` steps, then schedule. */
export function learningRateAt(
  step: number,
  steps: number,
  lr: number,
  warm: number,
  schedule: LrSchedule = 'constant',
): number {
  if (warm > 0 && step < warm) return (lr * (step + 1)) / warm;
  if (schedule === 'constant') return lr;
  const span = Math.max(1, steps - warm);
  const t = Math.min(1, (step - warm) / span);
  return 0.5 * lr * (1 + Math.cos(Math.PI * t));
}

/** Minimal optimiser interface shared by AdamW and SgdMomentum. */
export interface LocalOptimizer {
  step(vars: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void;
  dispose(): void;
}

/**
 * SGD with heavy-ball momentum and decoupled weight decay:
 *   u <- μ u + g;  p <- p - lr (u + wd p).
 */
export class SgdMomentum implements LocalOptimizer {
  private readonly u = new Map<string, tf.Variable>();
  constructor(private readonly opts: { momentum: number; weightDecay: number }) {
    if (!(opts.momentum >= 0 && opts.momentum < 1))
      throw new Error(`SgdMomentum: momentum must be in [0, 1), got ${opts.momentum}`);
    if (!(opts.weightDecay >= 0))
      throw new Error(`SgdMomentum: weightDecay must be >= 0, got ${opts.weightDecay}`);
  }

  step(vars: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): void {
    tf.tidy(() => {
      for (const [name, g] of Object.entries(grads)) {
        const p = vars[name];
        if (!p) throw new Error(`SgdMomentum: gradient for unknown variable "${name}"`);
        let u = this.u.get(name);
        if (!u) {
          u = tf.variable(tf.zerosLike(p), false);
          this.u.set(name, u);
        }
        const u1 = u.mul(this.opts.momentum).add(g);
        u.assign(u1);
        p.assign(p.sub(u1.add(p.mul(this.opts.weightDecay)).mul(lr)));
      }
    });
  }

  dispose(): void {
    for (const t of this.u.values()) t.dispose();
    this.u.clear();
  }
}

/**
 * FedProx (Li et al., MLSys 2020, eq. 2): the local objective gains (μ/2) ||w - w_global||²,
 * i.e. every gradient gains μ (w - w_global). Returns new gradient tensors and disposes the
 * given ones (caller owns the result).
 */
export function withProximal(
  grads: Record<string, tf.Tensor>,
  vars: Record<string, tf.Variable>,
  anchors: Record<string, tf.Tensor>,
  mu: number,
): Record<string, tf.Tensor> {
  if (!(mu > 0)) return grads;
  const out: Record<string, tf.Tensor> = {};
  for (const [name, g] of Object.entries(grads)) {
    out[name] = tf.tidy(() => g.add(vars[name].sub(anchors[name]).mul(mu)));
    g.dispose();
  }
  return out;
}

/**
 * The anchors of the proximal term for the trained params `names` (none when `mu` is 0): the
 * given `anchor` arrays where supplied (Ditto, Li et al., ICML 2021, eq. 2: a personal model
 * pulled toward the global one), else a copy of the param's current value (FedProx: the
 * round's starting point). The caller owns and disposes the tensors.
 */
export function proximalAnchors(
  mu: number,
  names: readonly string[],
  current: (name: string) => tf.Tensor,
  anchor?: NamedArrays,
): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  if (!(mu > 0)) return out;
  for (const n of names) {
    const a = anchor?.[n];
    if (!anchor) {
      out[n] = current(n).clone();
      continue;
    }
    const shape = current(n).shape;
    if (!a || !tf.util.arraysEqual(a.shape, shape)) {
      tf.dispose(Object.values(out));
      throw new Error(
        `proxAnchor: "${n}" ${a ? `has shape [${a.shape.join(', ')}], the param [${shape.join(', ')}]` : 'is missing'}`,
      );
    }
    out[n] = tf.tensor(a.data, [...a.shape], 'float32');
  }
  return out;
}

/** Checks a recipe's fields; errors name the field. */
export function validateLocalRecipe(r: LocalRecipe): void {
  if (r.optimizer !== undefined && !(LOCAL_OPTIMIZERS as readonly string[]).includes(r.optimizer))
    throw new Error(
      `local optimizer must be one of ${LOCAL_OPTIMIZERS.join(', ')}, got "${String(r.optimizer)}"`,
    );
  if (r.schedule !== undefined && !(LR_SCHEDULES as readonly string[]).includes(r.schedule))
    throw new Error(
      `lr schedule must be one of ${LR_SCHEDULES.join(', ')}, got "${String(r.schedule)}"`,
    );
  if (r.answerMask !== undefined && !(ANSWER_MASKS as readonly string[]).includes(r.answerMask))
    throw new Error(
      `answer mask must be one of ${ANSWER_MASKS.join(', ')}, got "${String(r.answerMask)}"`,
    );
  if (r.momentum !== undefined && !(r.momentum >= 0 && r.momentum < 1))
    throw new Error(`momentum must be in [0, 1), got ${r.momentum}`);
  if (r.proxMu !== undefined && !(r.proxMu >= 0 && Number.isFinite(r.proxMu)))
    throw new Error(`proxMu must be a finite number >= 0, got ${r.proxMu}`);
}
