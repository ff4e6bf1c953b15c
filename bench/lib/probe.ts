// Linear probe of the frozen base: does the hidden state after block k tell the sites'
// modalities apart? Ridge regression onto the one-hot site label (closed form, ml-matrix), fit
// on one half of the samples and scored on the other; features are the first token (what the
// head's pooler reads) and the mean over the image tokens.
import { Matrix, solve } from 'ml-matrix';
import type { VqaSample } from '../../packages/core/src/data/index.js';
import { disposeBatch, encodeBatch, type VqaModel } from '../../packages/core/src/model/index.js';

export interface ProbeRow {
  block: number;
  /** Held-out accuracy of predicting the site from the first token / image-token mean. */
  firstToken: number;
  imageMean: number;
}

function features(model: VqaModel, samples: readonly VqaSample[], block: number) {
  const T = model.config.maxTextLen;
  const batch = encodeBatch(samples, {
    config: model.config,
    answers: model.answers,
    allowUnknownAnswers: true,
  });
  try {
    const pre = model.forwardPrefix(batch, block);
    const x = pre.state.x.arraySync();
    pre.state.x.dispose();
    pre.state.bias.dispose();
    const first = x.map((seq) => seq[0]);
    const img = x.map((seq) => {
      const toks = seq.slice(T);
      return toks[0].map((_, h) => toks.reduce((a, t) => a + t[h], 0) / toks.length);
    });
    return { first, img };
  } finally {
    disposeBatch(batch);
  }
}

function ridgeAccuracy(x: number[][], y: number[], classes: number, lambda = 1e-2): number {
  const n = x.length;
  const half = Math.floor(n / 2);
  const withBias = x.map((r) => [...r, 1]);
  const X = new Matrix(withBias.slice(0, half));
  const Y = new Matrix(
    y.slice(0, half).map((c) => Array.from({ length: classes }, (_, j) => (j === c ? 1 : 0))),
  );
  const XtX = X.transpose().mmul(X);
  for (let i = 0; i < XtX.rows; i++) XtX.set(i, i, XtX.get(i, i) + lambda * half);
  const W = solve(XtX, X.transpose().mmul(Y));
  const P = new Matrix(withBias.slice(half)).mmul(W);
  let ok = 0;
  for (let i = 0; i < P.rows; i++) {
    const row = P.getRow(i);
    if (row.indexOf(Math.max(...row)) === y[half + i]) ok += 1;
  }
  return ok / P.rows;
}

/**
 * Per block 0..numLayers: how well a linear map of the base's hidden state predicts which site
 * (modality) a sample comes from. `bySite[i]` are site i's samples (interleaved before the split).
 */
export function modalityProbe(model: VqaModel, bySite: readonly VqaSample[][]): ProbeRow[] {
  const n = Math.min(...bySite.map((s) => s.length));
  const samples: VqaSample[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    bySite.forEach((s, c) => {
      samples.push(s[i]);
      labels.push(c);
    });
  }
  const rows: ProbeRow[] = [];
  for (let b = 0; b <= model.config.numLayers; b++) {
    const f = features(model, samples, b);
    rows.push({
      block: b,
      firstToken: ridgeAccuracy(f.first, labels, bySite.length),
      imageMean: ridgeAccuracy(f.img, labels, bySite.length),
    });
  }
  return rows;
}
