// The fused int8 dequantize-matmul WebGPU kernel (core model/int8-matmul.ts) in a real tab, on
// SwiftShader's WebGPU (no GPU on these machines: it proves correctness, not speed):
// - kernel level: random products and their input gradients, with partial 16 x 16 tiles, both
//   orientations and one vilt-b32 MLP shape, within the documented bound
//   K * 2^-24 * sum_k |x_k w_k| of an exact float64 reference (core model/README.md), and the
//   fused kernel is the one that ran;
// - model level: the tiny base (int8 in memory, Linear kernels on the device) evaluated on
//   webgpu through the fused kernel matches the cpu tab (plain ops) within LOSS_TOL.
import { describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { WorkerApi } from '../apps/browser-client/src/api.js';
import type { Int8MatMulCase } from '@focus-fl/core/model';
import { siteContext, watch } from '@focus-fl/testkit/browser';
import { usePageSuite } from './page-suite.js';

/** Held-out loss, webgpu (fused) vs cpu: float32 sums reordered through 6 blocks. */
const LOSS_TOL = 1e-4;

const CASES: Int8MatMulCase[] = [
  { m: 1, k: 1, n: 1, seed: 1 },
  { m: 5, k: 37, n: 19, seed: 2 },
  { m: 33, k: 64, n: 48, seed: 3 },
  { m: 17, k: 40, n: 23, transposeW: true, seed: 4 },
  { m: 50, k: 128, n: 512, seed: 5 }, // tiny's MLP
  { m: 50, k: 512, n: 128, transposeW: true, seed: 6 },
  { m: 8, k: 768, n: 3072, seed: 7 }, // vilt-b32's MLP up-projection, 8 tokens
];

type Api = { focusSite: { worker: WorkerApi } };

async function open(browser: Browser, origin: string, backend: string): Promise<Page> {
  const page = await (await siteContext(browser)).newPage();
  watch(page, backend);
  await page.goto(`${origin}/client/?synthetic=oct&seed=3&scale=0&floor=40&backend=${backend}`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 90_000 });
  return page;
}

describe('fused int8 matmul on WebGPU (SwiftShader)', () => {
  const suite = usePageSuite({ webgpu: true });

  it('kernel: within the documented bound of the exact product and gradient', async () => {
    const page = await open(suite.browser, suite.origin, 'webgpu');
    expect(await page.textContent('[data-testid=backend]')).toMatch(/^webgpu\b/);
    const res = await page.evaluate(
      (cases) => (window as unknown as Api).focusSite.worker.checkInt8MatMul(cases),
      CASES,
    );
    for (const r of res) {
      console.log(
        `[int8] ${r.m}x${r.k}x${r.n}${r.transposeW ? ' W^T' : ''}: fused ${r.fused}, max err ${r.maxAbsErr.toExponential(2)} (${r.maxBoundRatio.toFixed(4)} of bound), grad ${r.gradMaxAbsErr.toExponential(2)} (${r.gradMaxBoundRatio.toFixed(4)})`,
      );
      expect(r.fused).toBe(true);
      expect(r.maxBoundRatio).toBeLessThanOrEqual(1);
      expect(r.gradMaxBoundRatio).toBeLessThanOrEqual(1);
    }
    await page.close();
  });

  it('model: the tiny base evaluated through the fused kernel matches cpu', async () => {
    const out: { loss: number; accuracy: number; fused: number; deviceInt8: number }[] = [];
    for (const backend of ['webgpu', 'cpu']) {
      const page = await open(suite.browser, suite.origin, backend);
      out.push(
        await page.evaluate(async (origin) => {
          const w = (window as unknown as Api).focusSite.worker;
          const info = await w.loadModel(`${origin}/model/base.safetensors`);
          const before = (await w.memory()).fusedInt8MatMuls;
          const ev = await w.evaluate();
          const after = (await w.memory()).fusedInt8MatMuls;
          return {
            loss: ev.loss,
            accuracy: ev.accuracy,
            fused: after - before,
            deviceInt8: info.deviceInt8,
          };
        }, suite.origin),
      );
      await page.close();
    }
    const [gpu, cpu] = out;
    console.log(
      `[int8] tiny held-out loss webgpu ${gpu.loss} (${gpu.fused} fused products) vs cpu ${cpu.loss}`,
    );
    expect(gpu.deviceInt8).toBeGreaterThan(0);
    expect(gpu.fused).toBeGreaterThan(0);
    expect(cpu.fused).toBe(0);
    expect(Math.abs(gpu.loss - cpu.loss)).toBeLessThan(LOSS_TOL);
    expect(gpu.accuracy).toBe(cpu.accuracy);
  });
});
