// `focus-fl import-vilt`: a small synthetic checkpoint in Hugging Face ViLT naming -> the int8
// base the coordinator serves.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { answerVocabulary } from '@focus-fl/core/data';
import {
  importHfVilt,
  loadModel,
  readSafetensors,
  writeSafetensors,
  type WriteTensor,
} from '@focus-fl/core/model';
import { initNodeBackend } from '@focus-fl/core/node';
import { hfViltCheckpoint } from '@focus-fl/testkit/hf-vilt';
import { runCli } from '../src/cli.js';
import { modelSourceFromConfig } from '../src/model-source.js';
import { tmpDir } from './fakes.js';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

// Geometry of the file: hidden 16, 2 blocks, MLP 32, patch 8 on 16 px (4 patches), vocab 50,
// 12 text positions (so maxTextLen = 12), 2 heads given by flag.
const H = 16;
const MLP = 32;
const P = 8;
const V = 50;

function hfFile(drop?: string): Record<string, WriteTensor> {
  const geometry = { hidden: H, mlp: MLP, patch: P, imageSize: 16, vocab: V, layers: 2 };
  return hfViltCheckpoint({ ...geometry, textPositions: 12, seed: 3, drop });
}

describe('focus-fl import-vilt', () => {
  it('writes an int8 base with the file geometry and a fresh head; the coordinator serves it', () => {
    const dir = tmpDir();
    const file = join(dir, 'hf.safetensors');
    const out = join(dir, 'base.safetensors');
    const hf = hfFile();
    writeFileSync(file, writeSafetensors(hf));
    const lines: string[] = [];
    expect(runCli(['import-vilt', file, '--out', out, '--heads', '2'], (s) => lines.push(s))).toBe(
      0,
    );
    expect(lines[0]).toMatch(/MB int8 base, .* hidden 16, 2 blocks, 2 heads/);
    expect(lines[0]).toMatch(/1 HF tensors not used \(classifier\.0\.weight\)/);

    const ck = readSafetensors(readFileSyncU8(out));
    expect(ck.tensors['block0/q_kernel'].dtype).toBe('I8');
    const m = loadModel(readFileSyncU8(out));
    expect(m.config).toMatchObject({
      hidden: H,
      numLayers: 2,
      numHeads: 2,
      mlpDim: MLP,
      patchSize: P,
      imageSize: 16,
      vocabSize: V,
      maxTextLen: 12,
    });
    expect(m.answers).toEqual(answerVocabulary());
    // HF Linear weight [out, in] transposed to our [in, out], within one int8 step (scale / 2).
    const w = hf['vilt.encoder.layer.1.intermediate.dense.weight'].data as Float32Array;
    const q = m.quantizedWeight('block1/mlp1_kernel')!;
    const ours = m.getParams(['block1/mlp1_kernel'])['block1/mlp1_kernel'].data;
    for (let i = 0; i < H; i++)
      for (let o = 0; o < MLP; o++)
        expect(Math.abs(ours[i * MLP + o] - w[o * H + i])).toBeLessThanOrEqual(
          q.scales[o] / 2 + 1e-7,
        );
    // Bitwise the model an in-memory int8 import gives.
    const direct = importHfVilt(writeSafetensors(hf), {
      configOverrides: { ...m.config },
      answers: answerVocabulary(),
      weights: 'int8',
    }).model;
    expect(direct.quantizedWeight('block0/v_kernel')!.q).toEqual(
      m.quantizedWeight('block0/v_kernel')!.q,
    );
    direct.dispose();

    const src = modelSourceFromConfig({ preset: 'vilt-b32', checkpoint: out, modelSeed: 0 });
    expect(src.layers).toEqual(['block0.adapter', 'block1.adapter']);
    expect(src.baseBytes!.length).toBeGreaterThan(0);
    m.dispose();
  });

  it('names a missing HF tensor and writes nothing', () => {
    const dir = tmpDir();
    const file = join(dir, 'bad.safetensors');
    const out = join(dir, 'base.safetensors');
    writeFileSync(file, writeSafetensors(hfFile('vilt.encoder.layer.1.output.dense.bias')));
    expect(() => runCli(['import-vilt', file, '--out', out, '--heads', '2'])).toThrow(
      /missing tensor "vilt.encoder.layer.1.output.dense.bias"/,
    );
    expect(existsSync(out)).toBe(false);
    expect(() => runCli(['import-vilt', join(dir, 'x.bin'), '--out', out])).toThrow(
      /not a \.safetensors file/,
    );
    expect(() => runCli(['import-vilt', file])).toThrow(/usage: focus-fl import-vilt/);
  });
});

function readFileSyncU8(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
