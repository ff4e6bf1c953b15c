// The wasm backend in a real (cross-origin-isolated) tab runs tfjs-backend-wasm's threaded
// SIMD build, whose memory is shared; core's SIMD kernels (batched products of attention, erf
// and exp: packages/core/src/model/wasm-kernels.ts) then run on that shared memory. LNTK
// scores and a few training steps on wasm must match the cpu backend, as webgpu's do
// (webgpu.e2e.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launch } from '@focus-fl/testkit/browser';
import { tinyCheckpoint } from '@focus-fl/testkit/model';
import { serveClient, type StaticServer } from '@focus-fl/testkit/static';
import { expectSameAsCpu, openBackendPages, trainAndScore } from './backend-parity.js';

describe('wasm worker (threaded SIMD build)', () => {
  let server: StaticServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await serveClient(tinyCheckpoint());
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('matches cpu on LNTK and training steps', async () => {
    const pages = await openBackendPages(browser, server.origin, ['wasm', 'cpu']);
    // Every layer trained: the backward pass runs through all of attention and GELU.
    const wasm = await trainAndScore(pages[0], server.origin, null);
    const cpu = await trainAndScore(pages[1], server.origin, null);
    expect(wasm.backend).toBe('wasm');
    expect(cpu.backend).toBe('cpu');
    expect(wasm.isolated).toBe(true); // the threaded build's shared memory

    expectSameAsCpu('wasm', wasm, cpu);
  });
});
