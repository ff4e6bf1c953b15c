// The wasm backend in a real (cross-origin-isolated) tab runs tfjs-backend-wasm's threaded
// SIMD build, whose memory is shared; core's SIMD kernels (batched products of attention, erf
// and exp: packages/core/src/model/wasm-kernels.ts) then run on that shared memory. LNTK
// scores and a few training steps on wasm must match the cpu backend, as webgpu's do
// (webgpu.e2e.ts).
import { describe, expect, it } from 'vitest';
import { usePageSuite } from './page-suite.js';
import { expectSameAsCpu, openBackendPages, trainAndScore } from './backend-parity.js';

describe('wasm worker (threaded SIMD build)', () => {
  const suite = usePageSuite();

  it('matches cpu on LNTK and training steps', async () => {
    const pages = await openBackendPages(suite.browser, suite.origin, ['wasm', 'cpu']);
    // Every layer trained: the backward pass runs through all of attention and GELU.
    const wasm = await trainAndScore(pages[0], suite.origin, null);
    const cpu = await trainAndScore(pages[1], suite.origin, null);
    expect(wasm.backend).toBe('wasm');
    expect(cpu.backend).toBe('cpu');
    expect(wasm.isolated).toBe(true); // the threaded build's shared memory

    expectSameAsCpu('wasm', wasm, cpu);
  });
});
