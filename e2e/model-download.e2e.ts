// The site page and the base model (issue: a hospital must see how big the base is before its
// tab fetches it): joined to a coordinator, the page announces the base's size (the HEAD
// request's Content-Length) before any byte is downloaded, shows the download's progress up
// to that size, then the size in the model row; reloaded, it takes the base from its cache
// (ETag unchanged) and downloads nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launch, siteContext, watch } from '@focus-fl/testkit/browser';
import { startCoordinator, type Coordinator } from '@focus-fl/testkit/coordinator';
import { waitUntil } from '@focus-fl/testkit/wait';

type Progress = { done: number; total: number };
type Site = { focusSite: { modelProgress: Progress[] } };

/** The page's formatting (apps/browser-client/src/ui.ts fmtBytes) for sizes >= 1 MiB. */
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MiB`;

describe('site page: the base model download', () => {
  let coord: Coordinator;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    // Two sites registered, one tab: the federation never starts, the tab only joins.
    coord = await startCoordinator({
      sites: { oct: 2, chest_xray: 2 },
      config: { strategy: 'f3ocus', rounds: 1, minClients: 2 },
      quiet: true,
    });
    browser = await launch();
    context = await siteContext(browser);
  });
  afterAll(async () => {
    await browser?.close();
    await coord?.stop();
  });

  async function join(): Promise<Page> {
    const page = await context.newPage();
    watch(page, 'oct');
    await page.goto(
      coord.joinUrl('oct', { backend: 'wasm', synthetic: 'oct', seed: 1, scale: 0, floor: 20 }),
    );
    const how = await waitUntil(
      'the tab to load its base model',
      () => page.evaluate(() => document.body.dataset.model),
      { timeoutMs: 120_000 },
    );
    expect(['downloaded', 'cached']).toContain(how);
    return page;
  }

  it('says how big the base is before downloading it, then shows the progress', async () => {
    const head = await fetch(`${coord.http}/model/base.safetensors`, { method: 'HEAD' });
    expect(head.ok).toBe(true);
    const size = Number(head.headers.get('content-length'));
    const served = (await (await fetch(`${coord.http}/model/base.safetensors`)).arrayBuffer())
      .byteLength;
    expect(size).toBe(served);

    const page = await join();
    expect(await page.evaluate(() => document.body.dataset.model)).toBe('downloaded');
    const progress = await page.evaluate(() => (window as unknown as Site).focusSite.modelProgress);
    console.log(
      `[model] ${size} bytes; ${progress.length} progress reports: ${progress
        .slice(0, 4)
        .map((p) => `${p.done}/${p.total}`)
        .join(', ')} …`,
    );
    // The first report is the size, before any byte arrived.
    expect(progress[0]).toEqual({ done: 0, total: size });
    expect(await page.evaluate(() => document.body.dataset.modelSize)).toBe(String(size));
    // Then the download, monotone, to exactly that size, in more than one step (the tiny base,
    // 2.4 MB, is larger than one read of Chromium's network data pipe, 2 MiB here).
    expect(progress.length).toBeGreaterThan(2);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i].total).toBe(size);
      expect(progress[i].done).toBeGreaterThan(progress[i - 1].done);
    }
    expect(progress[progress.length - 1].done).toBe(size);
    expect(await page.textContent('#t-model')).toContain(mib(size));
    await page.close();
  });

  it('reloaded, takes the base from its cache without downloading it', async () => {
    const page = await join();
    expect(await page.evaluate(() => document.body.dataset.model)).toBe('cached');
    const progress = await page.evaluate(() => (window as unknown as Site).focusSite.modelProgress);
    expect(progress.some((p) => p.done === 0)).toBe(false);
    expect(await page.textContent('#t-model')).toMatch(/\(cache\)/);
    await page.close();
  });
});
