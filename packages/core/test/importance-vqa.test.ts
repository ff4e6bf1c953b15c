// LNTK and the baseline scorers on the real VQA model (3-block tiny variant, 4-6 samples).
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary, syntheticClient } from '../src/data/index.js';
import { SCORER_METHODS } from '../src/importance/scorers.js';
import {
  computeLntk,
  fedselectDelta,
  pickSamples,
  scoreLayers,
  vqaDifferentiable,
} from '../src/importance/vqa.js';
import { PRESETS, createModel, type VqaModel } from '../src/model/index.js';

let model: VqaModel;
const samples = syntheticClient('blood_microscope', { seed: 3 }).train.slice(0, 5);

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = createModel({ ...PRESETS.tiny, numLayers: 3 }, { seed: 2, answers: answerVocabulary() });
});
afterAll(() => model.dispose());

describe('computeLntk on the VQA model', () => {
  it('scores every adapter layer in forward order; sums to 1; deterministic; no leak', () => {
    const a = computeLntk(model, samples, { seed: 1 });
    const before = tf.memory().numTensors;
    const b = computeLntk(model, samples, { seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(a.layers).toEqual(['block0.adapter', 'block1.adapter', 'block2.adapter']);
    expect(a.rows).toBe(5);
    expect(a.scores.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    a.scores.forEach((s) => expect(s).toBeGreaterThan(0));
    expect(b.lambda1).toEqual(a.lambda1);
    expect(a.elapsedMs).toBeGreaterThan(0);
  });

  it('is unchanged by sample order', () => {
    const a = computeLntk(model, samples, { seed: 1 });
    const b = computeLntk(model, [...samples].reverse(), { seed: 1 });
    a.lambda1.forEach((x, i) => expect(Math.abs(b.lambda1[i] - x) / x).toBeLessThan(1e-4));
  });

  it('per-sample rows add up to the batch gradient (no cross-sample leakage)', () => {
    const r = computeLntk(model, samples, {
      seed: 1,
      kernel: 'summed',
      probe: 'none',
      keepGrams: true,
    });
    // sum of all entries of G_l = ||sum_i row_i||^2 = ||d(sum_i v.z_i)/d theta_l||^2, one batch pass
    const d = vqaDifferentiable(model, samples);
    try {
      const K = model.answers.length;
      const names = d.layers.flatMap((l) => [...d.paramsOf(l)]);
      const gs = tf.grads((...xs: tf.Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, xs[i]]));
        return tf.div(tf.sum(d.output(p, [0, 1, 2, 3, 4])), Math.sqrt(K)) as tf.Scalar;
      })(names.map((n) => d.params[n]));
      d.layers.forEach((l, li) => {
        let sq = 0;
        names.forEach((n, j) => {
          if (!n.startsWith(`${l}/`)) return;
          for (const v of gs[j].dataSync()) sq += v * v;
        });
        const G = r.grams![li];
        const total = G.reduce((a, b) => a + b, 0);
        expect(Math.abs(total - sq) / sq).toBeLessThan(1e-3);
      });
      tf.dispose(gs);
    } finally {
      d.dispose();
    }
  });

  it('the probe gives the zero-initialised up-projection a value only while scoring', () => {
    const up = Array.from(model.tensor('block0.adapter/up_kernel').dataSync());
    expect(up.every((x) => x === 0)).toBe(true);
    const plain = computeLntk(model, samples, { seed: 1, probe: 'none' });
    const probed = computeLntk(model, samples, { seed: 1 });
    expect(probed.lambda1).not.toEqual(plain.lambda1);
    expect(Array.from(model.tensor('block0.adapter/up_kernel').dataSync())).toEqual(up);
  });

  it('the block variant scores the blocks’ own weights', () => {
    const r = computeLntk(model, samples, { seed: 1, unit: 'block' });
    expect(r.scores).toHaveLength(3);
    expect(r.scores.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
  });

  it('picks a seeded subset when there are more samples than numSamples', () => {
    const many = syntheticClient('blood_microscope', { seed: 3 }).train;
    const a = pickSamples(many, 4, 9);
    expect(a).toHaveLength(4);
    expect(pickSamples(many, 4, 9)).toEqual(a);
    expect(pickSamples(many, 4, 10)).not.toEqual(a);
    expect(() => pickSamples(many, 0, 1)).toThrow(/numSamples/);
  });
});

describe('scoreLayers on the VQA model', () => {
  it('every scorer gives one finite score per layer; no leak', async () => {
    const delta = await fedselectDelta(model, samples, { seed: 1, steps: 2 });
    const before = tf.memory().numTensors;
    for (const method of SCORER_METHODS) {
      const s = scoreLayers(method, model, samples, { seed: 1, delta });
      expect(s, method).toHaveLength(3);
      s.forEach((x) => expect(Number.isFinite(x), method).toBe(true));
    }
    expect(tf.memory().numTensors).toBe(before);
    // fedselectDelta restored the model: the up-projections are still zero
    expect(
      Array.from(model.tensor('block2.adapter/up_kernel').dataSync()).every((x) => x === 0),
    ).toBe(true);
    expect(() => scoreLayers('fedselect', model, samples)).toThrow(/delta/);
    expect(() => scoreLayers('bogus' as never, model, samples)).toThrow(/valid: last/);
  });
});

describe('cli lntk', () => {
  const run = (args: string[]) =>
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'packages/core/src/cli.ts', 'lntk', ...args],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  it('prints the stable JSON', () => {
    const out = run([
      '--client',
      'fundus',
      '--samples',
      '4',
      '--seed',
      '2',
      '--json',
      '--backend',
      'cpu',
    ]);
    const line = out.trim().split('\n').pop()!;
    const j = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(['layers', 'lambda1', 'scores', 'elapsedMs']);
    expect((j.layers as string[]).length).toBe(6);
    expect((j.scores as number[]).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });
  it('lists the valid clients for an unknown one', () => {
    let err = '';
    try {
      run(['--client', 'nope', '--json']);
    } catch (e) {
      err = String((e as { stderr: string }).stderr);
    }
    expect(err).toMatch(/unknown client "nope"; valid: chest_xray, .*abdominal_ct/);
  });
});
