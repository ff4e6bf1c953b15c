// WebGPU in a real tab: with --enable-unsafe-webgpu the `auto` probe must try webgpu and keep
// the fastest backend it measured, and on webgpu LNTK scores plus a few training steps must
// match the cpu backend. SwiftShader's WebGPU
// is exact but ~15x slower here (CPU emulation), so the run is short: 40 samples, 3 steps.
// The base is int8 in memory in both tabs (on webgpu its Linear kernels go through the fused
// int8 dequantize-matmul kernel, e2e/int8-matmul.e2e.ts), so this also checks the int8 path on
// WebGPU against cpu.
import { describe, expect, it } from 'vitest';
import { siteContext, watch } from '@focus-fl/testkit/browser';
import { usePageSuite } from './page-suite.js';
import { expectSameAsCpu, openBackendPages, trainAndScore } from './backend-parity.js';

describe('WebGPU worker', () => {
  const suite = usePageSuite({ webgpu: true });

  it('auto probes webgpu among the backends and keeps the fastest one measured', async () => {
    const page = await (await siteContext(suite.browser)).newPage();
    watch(page, 'auto');
    await page.goto(`${suite.origin}/client/?synthetic=oct&seed=3&scale=0&floor=40`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 90_000 });
    const shown = (await page.textContent('[data-testid=backend]')) ?? '';
    const probes = ((await page.getAttribute('[data-testid=backend]', 'title')) ?? '').split('\n');
    console.log(`[webgpu] auto: ${shown}; probes: ${probes.join(' | ')}`);
    const measured = probes
      .map((l) => /^(\w+): (\d+) ms\/step$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ backend: m[1], ms: Number(m[2]) }));
    // webgpu was tried (measured, or cut off as slower than the best so far).
    expect(probes.some((l) => l.startsWith('webgpu'))).toBe(true);
    expect(measured.length).toBeGreaterThan(0);
    const chosen = measured.find((m) => shown.startsWith(`${m.backend} · `));
    expect(chosen).toBeDefined();
    expect(chosen!.ms).toBe(Math.min(...measured.map((m) => m.ms)));
    await page.close();
  });

  // SwiftShader's WebGPU is slower than wasm here, so `auto` would not keep it: ask for it.
  it('runs on webgpu and matches cpu on LNTK and training steps', async () => {
    const pages = await openBackendPages(suite.browser, suite.origin, ['webgpu', 'cpu']);
    expect(await pages[0].textContent('[data-testid=backend]')).toMatch(/^webgpu\b/);
    expect(await pages[1].textContent('[data-testid=backend]')).toMatch(/^cpu\b/);
    // One after the other: both at once starve SwiftShader's GPU thread on 2 cores.
    const t0 = Date.now();
    const gpu = await trainAndScore(pages[0], suite.origin, 2);
    const t1 = Date.now();
    const cpu = await trainAndScore(pages[1], suite.origin, 2);
    console.log(`[webgpu] webgpu run ${t1 - t0} ms, cpu run ${Date.now() - t1} ms`);
    expect(gpu.backend).toBe('webgpu');
    // Both tabs train with the base int8 in memory (core model/README.md): <= 40 % of fp32;
    // on webgpu the Linear kernels live packed on the device, on cpu in host memory.
    console.log(
      `[webgpu] weights in memory / fp32: webgpu ${gpu.memoryRatio.toFixed(3)} (${gpu.deviceInt8} on the device), cpu ${cpu.memoryRatio.toFixed(3)}`,
    );
    expect(gpu.memoryRatio).toBeLessThanOrEqual(0.4);
    expect(cpu.memoryRatio).toBeLessThanOrEqual(0.4);
    expect(gpu.deviceInt8).toBeGreaterThan(0);
    expect(cpu.deviceInt8).toBe(0);

    expectSameAsCpu('webgpu', gpu, cpu);
  });
});
