// Data import in the site page: MedMNIST npz, PNG + CSV questions, DICOM; a corrupt npz and a
// corrupt PNG each get a clear message naming the file while the rest imports; the data
// survives a reload; "forget data" clears it. Compressed DICOM (JPEG lossless, JPEG 2000,
// written here by dcmjs-codecs) with a labels CSV keyed by SOPInstanceUID and file name, a
// partial chest_xray site, a 64 px MedMNIST+ file stored at the model's 28 px, and a
// cancelled import that resumes. No coordinator needed.
import { describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { siteContext, watch } from '@focus-fl/testkit/browser';
import { dicom16, grayPng, medmnistNpz } from '@focus-fl/testkit/fixtures';
import { syntheticSubsetArrays, writeMedMnistNpz } from '@focus-fl/core/data';
import { mulberry32 } from '@focus-fl/core/random';
import { usePageSuite } from './page-suite.js';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_DIST } from '@focus-fl/testkit/paths';
import {
  UIDS,
  dicomFile,
  type FixtureImage,
} from '../apps/browser-client/test/helpers/dicom-fixtures.js';
import { nodeDecoders } from '../apps/browser-client/test/helpers/wasm-node.js';
import { decodeDicom } from '../apps/browser-client/src/import/dicom.js';
import type { Page } from 'playwright-core';
import type { WorkerApi } from '../apps/browser-client/src/api.js';

/** The stored pixels of the first samples, read back through the worker. */
async function storedThumbs(
  page: Page,
  n: number,
): Promise<{ size: number; gray: number[]; label: string }[]> {
  return page.evaluate(async (k) => {
    const site = (
      window as unknown as {
        focusSite: {
          worker: {
            thumbnails(
              n: number,
            ): Promise<{ size: number; rgba: Uint8ClampedArray; label: string }[]>;
          };
        };
      }
    ).focusSite;
    const t = await site.worker.thumbnails(k);
    return t.map((x) => ({
      size: x.size,
      label: x.label,
      gray: Array.from(x.rgba.filter((_, i) => i % 4 === 0)),
    }));
  }, n);
}

async function freshPage(browser: Browser, origin: string, backend = 'cpu'): Promise<Page> {
  const page = await (await siteContext(browser)).newPage();
  watch(page, 'import');
  await page.goto(`${origin}/client/?backend=${backend}`);
  await page.waitForSelector('body[data-ready="1"]');
  return page;
}

async function importAndWait(page: Page, files: { name: string; buffer: Buffer }[]): Promise<void> {
  await page.evaluate(() => delete document.body.dataset.imported);
  await page.setInputFiles(
    '[data-testid=files]',
    files.map((f) => ({ ...f, mimeType: 'application/octet-stream' })),
  );
  await page.waitForFunction(() => document.body.dataset.imported || document.body.dataset.error);
  const err = await page.evaluate(() => document.body.dataset.error);
  if (err) throw new Error(`import failed in the page: ${err}`);
}

describe('site page import', () => {
  const suite = usePageSuite();

  it('imports good files, names the bad ones, persists, and forgets', async () => {
    const page = await (await siteContext(suite.browser)).newPage();
    watch(page, 'import');
    await page.goto(`${suite.origin}/client/?backend=cpu`);
    await page.waitForSelector('body[data-ready="1"]');

    const per = 10; // per split: 20 train+val, 10 test
    const npz = Buffer.from(medmnistNpz('bloodmnist', per));
    const corruptNpz = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(300, 7)]);
    const img = Uint8Array.from({ length: 32 * 32 }, (_, i) => (i * 7 + (i >> 5) * 13) % 256);
    const png = grayPng(32, 32, img);
    const corruptPng = Buffer.concat([png.subarray(0, 40), Buffer.alloc(60, 0xab)]);
    const dcmValues = Uint16Array.from({ length: 16 * 16 }, (_, i) => (i * 16) % 4096);
    const dcm = dicom16(16, 16, dcmValues);
    const csv = [
      'image,question,answer,question_type',
      'scan1.png,Which imaging modality is this?,ct,modality',
      'scan1.png,Is there an effusion?,effusion,diagnosis',
      'broken.png,What is shown?,effusion,diagnosis',
      'slice1.dcm,Which view of the CT scan is seen?,axial,modality',
      'scan1.png,What is this?,not-an-answer-we-know,other',
    ].join('\n');

    await page.setInputFiles('[data-testid=files]', [
      { name: 'bloodmnist.npz', mimeType: 'application/octet-stream', buffer: npz },
      { name: 'pathmnist.npz', mimeType: 'application/octet-stream', buffer: corruptNpz },
      { name: 'scan1.png', mimeType: 'image/png', buffer: png },
      { name: 'broken.png', mimeType: 'image/png', buffer: corruptPng },
      { name: 'slice1.dcm', mimeType: 'application/dicom', buffer: dcm },
      { name: 'questions.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) },
    ]);
    await page.waitForSelector('body[data-imported]');
    const errors = await page.locator('[data-testid=import-errors] li.error').allTextContents();
    const notes = await page.locator('[data-testid=import-errors] li.note').allTextContents();
    console.log('[import] errors:', errors, 'notes:', notes);
    expect(errors).toHaveLength(2);
    expect(errors.some((e) => e.startsWith('pathmnist.npz:'))).toBe(true);
    expect(errors.some((e) => e.startsWith('broken.png:') && /PNG/.test(e))).toBe(true);
    expect(
      notes.some(
        (n) =>
          /answer not among the model's answer classes/.test(n) &&
          n.includes('not-an-answer-we-know'),
      ),
    ).toBe(true);

    // bloodmnist: one question per image (core builder), 3 * per images; PNG: 2; DICOM: 1.
    const expected = 3 * per + 2 + 1;
    expect(Number(await page.evaluate(() => document.body.dataset.imported))).toBe(expected);
    expect(Number(await page.evaluate(() => document.body.dataset.samples))).toBe(expected);
    const counts = await page
      .locator('[data-testid=type-counts] tr[data-key] td:nth-child(2)')
      .allTextContents();
    expect(counts.length).toBeGreaterThan(1);
    expect(counts.map(Number).reduce((a, b) => a + b, 0)).toBe(expected);
    expect(await page.locator('[data-testid=thumbs] canvas').count()).toBeGreaterThan(0);

    // Survives a reload (IndexedDB).
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]');
    expect(Number(await page.evaluate(() => document.body.dataset.samples))).toBe(expected);

    // Forget clears it.
    await page.click('[data-testid=forget]');
    await page.waitForFunction(() => document.body.dataset.samples === '0');
  });

  it('imports JPEG lossless and JPEG 2000 DICOM with a labels CSV keyed by UID and file name', async () => {
    const page = await freshPage(suite.browser, suite.origin);
    const rows = 24;
    const cols = 24;
    const values = Uint16Array.from(
      { length: rows * cols },
      (_, i) => ((i % cols) * 150 + Math.floor(i / cols) * 7) % 4096,
    );
    const img: FixtureImage = { rows, cols, bits: 16, bitsStored: 12, pixels: values };
    const jpegLossless = await dicomFile(img, UIDS.jpegLossless, {
      sopUid: '1.2.826.0.1.3680043.8.498.77',
    });
    const j2k = await dicomFile(img, UIDS.j2kLossless, { sopUid: '1.2.826.0.1.3680043.8.498.78' });
    const labels = [
      'SOPInstanceUID,label',
      '1.2.826.0.1.3680043.8.498.77,pneumonia',
      'IM0002,normal',
    ].join('\n');
    await importAndWait(page, [
      // PACS exports: files named by UID (dots, no extension) or IMnnnn, and a DICOMDIR.
      { name: '1.3.6.1.4.1.5962.99.1.1', buffer: Buffer.from(jpegLossless) },
      { name: 'IM0002', buffer: Buffer.from(j2k) },
      { name: 'DICOMDIR', buffer: Buffer.from('not read') },
      { name: 'notes.txt', buffer: Buffer.from('site notes') },
      { name: 'labels.csv', buffer: Buffer.from(labels) },
    ]);
    const errors = await page.locator('[data-testid=import-errors] li.error').allTextContents();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^notes\.txt: unsupported file type/);
    expect(Number(await page.evaluate(() => document.body.dataset.imported))).toBe(2);
    // The stored pixels are exactly what the uncompressed file gives (decoded in Node).
    const ref = await decodeDicom('ref.dcm', await dicomFile(img, UIDS.explicitLE), nodeDecoders());
    const stored = await storedThumbs(page, 2);
    expect(stored.map((t) => t.label).sort()).toEqual(['normal', 'pneumonia']);
    for (const t of stored) expect(t.gray).toEqual([...ref.data]);
  });

  it('every codec the worker bundles decodes in the page: JPEG-LS, JPEG baseline, RLE', async () => {
    const page = await freshPage(suite.browser, suite.origin);
    const rows = 16;
    const cols = 16;
    const p8 = Uint8Array.from({ length: rows * cols }, (_, i) => 40 + (i % cols) * 10);
    const p16 = Uint16Array.from({ length: rows * cols }, (_, i) => (i * 13) % 4096);
    const g8: FixtureImage = { rows, cols, bits: 8, pixels: p8 };
    const g16: FixtureImage = { rows, cols, bits: 16, bitsStored: 12, pixels: p16 };
    await importAndWait(page, [
      { name: 'ls.dcm', buffer: Buffer.from(await dicomFile(g16, UIDS.jpegLsLossless)) },
      { name: 'rle.dcm', buffer: Buffer.from(await dicomFile(g16, UIDS.rle)) },
      { name: 'base.dcm', buffer: Buffer.from(await dicomFile(g8, UIDS.jpegBaseline)) },
      {
        name: 'labels.csv',
        buffer: Buffer.from('file,label\nls.dcm,normal\nrle.dcm,pneumonia\nbase.dcm,effusion\n'),
      },
    ]);
    const errors = await page.locator('[data-testid=import-errors] li.error').allTextContents();
    expect(errors).toEqual([]);
    const stored = await storedThumbs(page, 3);
    const by = new Map(stored.map((t) => [t.label, t.gray]));
    const ref16 = await decodeDicom('r.dcm', await dicomFile(g16, UIDS.explicitLE), nodeDecoders());
    const ref8 = await decodeDicom('r8.dcm', await dicomFile(g8, UIDS.explicitLE), nodeDecoders());
    expect(by.get('normal')).toEqual([...ref16.data]); // JPEG-LS lossless: exact
    expect(by.get('pneumonia')).toEqual([...ref16.data]); // RLE: exact
    // JPEG baseline (quality 90) is lossy: min..max windowed, every pixel within 12 levels.
    const base = by.get('effusion')!;
    expect(Math.max(...base.map((v, i) => Math.abs(v - ref8.data[i])))).toBeLessThanOrEqual(12);
  });

  it('a partial chest_xray site and a 64 px MedMNIST+ file import; the page names the subsets', async () => {
    const page = await freshPage(suite.browser, suite.origin);
    const per = 6;
    const pneumonia = Buffer.from(medmnistNpz('pneumoniamnist', per));
    const oct64 = Buffer.from(
      writeMedMnistNpz({
        train: syntheticSubsetArrays('octmnist', { seed: 1, count: per, size: 64 }),
        val: syntheticSubsetArrays('octmnist', { seed: 2, count: per, size: 64 }),
        test: syntheticSubsetArrays('octmnist', { seed: 3, count: per, size: 64 }),
      }),
    );
    await importAndWait(page, [
      { name: 'pneumoniamnist.npz', buffer: pneumonia },
      { name: 'octmnist_64.npz', buffer: oct64 },
    ]);
    expect(Number(await page.evaluate(() => document.body.dataset.imported))).toBe(6 * per);
    const found = await page.locator('[data-testid=subsets-found] li').allTextContents();
    expect(found).toContain('chest_xray: pneumoniamnist (partial site; no chestmnist)');
    expect(found).toContain('oct: octmnist (all subsets)');
    // 64 px OCT images are stored at the tiny model's 28 px input.
    const sizes = new Set((await storedThumbs(page, 40)).map((t) => t.size));
    expect([...sizes]).toEqual([28]);
  });

  it('a cancelled import keeps what it wrote and resumes without duplicates', async () => {
    const page = await freshPage(suite.browser, suite.origin);
    const per = 3000; // 9,000 images: 36 batches of 256
    const split = (seed: number) => {
      const rand = mulberry32(seed);
      return {
        images: Uint8Array.from({ length: per * 28 * 28 }, () => Math.floor(rand() * 256)),
        labels: Uint8Array.from({ length: per }, () => Math.floor(rand() * 4)),
        count: per,
        size: 28,
        channels: 1 as const,
        labelWidth: 1,
      };
    };
    const npz = Buffer.from(writeMedMnistNpz({ train: split(1), val: split(2), test: split(3) }));
    await page.evaluate(() => delete document.body.dataset.imported);
    await page.setInputFiles('[data-testid=files]', [
      { name: 'octmnist.npz', mimeType: 'application/octet-stream', buffer: npz },
    ]);
    // Cancel as soon as the first batch is on the progress bar.
    await page.waitForFunction(() =>
      /octmnist\.npz \d+\//.test(document.getElementById('t-import')?.textContent ?? ''),
    );
    await page.click('[data-testid=cancel-import]');
    await page.waitForSelector('body[data-imported]');
    const first = Number(await page.evaluate(() => document.body.dataset.imported));
    expect(await page.evaluate(() => document.body.dataset.importCancelled)).toBe(String(first));
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(3 * per);
    await importAndWait(page, [{ name: 'octmnist.npz', buffer: npz }]);
    const notes = await page.locator('[data-testid=import-errors] li.note').allTextContents();
    expect(notes.some((n) => /octmnist\.npz: resumed after \d+ of 36 batches/.test(n))).toBe(true);
    expect(Number(await page.evaluate(() => document.body.dataset.samples))).toBe(3 * per);
    // A third import of the same file adds nothing.
    await importAndWait(page, [{ name: 'octmnist.npz', buffer: npz }]);
    expect(Number(await page.evaluate(() => document.body.dataset.samples))).toBe(3 * per);
  });

  it('storage running out mid-import keeps what was written and says so', async () => {
    const page = await freshPage(suite.browser, suite.origin);
    // Chromium's test hook: a 20 MiB quota for this origin. navigator.storage.estimate() does
    // not see the override (it still reports the real quota), so the up-front check passes and
    // the write path meets the quota: the fallback the up-front check cannot rule out.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', {
      origin: suite.origin,
      quotaSize: 20 * 2 ** 20,
    });
    const big = (seed: number) => {
      const rand = mulberry32(seed);
      const n = 8000;
      return {
        images: Uint8Array.from({ length: n * 28 * 28 }, () => Math.floor(rand() * 256)),
        labels: Uint8Array.from({ length: n }, () => Math.floor(rand() * 4)),
        count: n,
        size: 28,
        channels: 1 as const,
        labelWidth: 1,
      };
    };
    const tooBig = Buffer.from(writeMedMnistNpz({ train: big(1), val: big(2), test: big(3) }));
    await importAndWait(page, [{ name: 'octmnist.npz', buffer: tooBig }]);
    const errors = await page.locator('[data-testid=import-errors] li.error').allTextContents();
    console.log('[import] quota:', errors);
    const m = /^browser storage is full after (\d+) new samples; what was imported is kept/.exec(
      errors[0],
    );
    expect(m).not.toBeNull();
    const kept = Number(m![1]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(24_000);
    expect(Number(await page.evaluate(() => document.body.dataset.imported))).toBe(kept);
    expect(Number(await page.evaluate(() => document.body.dataset.samples))).toBe(kept);
  });

  it('the worker scores, trains and evaluates from IndexedDB after an import', async () => {
    const page = await freshPage(suite.browser, suite.origin, 'wasm');
    const per = 20;
    await importAndWait(page, [
      { name: 'pneumoniamnist.npz', buffer: Buffer.from(medmnistNpz('pneumoniamnist', per)) },
    ]);
    const r = await page.evaluate(async (origin) => {
      const w = (window as unknown as { focusSite: { worker: WorkerApi } }).focusSite.worker;
      const info = await w.loadModel(`${origin}/model/base.safetensors`);
      const scores = await w.computeScores({
        method: 'lntk',
        round: 1,
        seed: 1,
        layers: info.layers,
      });
      const cfg = { round: 1, steps: 3, batchSize: 8, lr: 1e-3, weightDecay: 0.01, seed: 1 };
      const t = await w.train(info.layers.slice(-1), cfg);
      const ev = await w.evaluate();
      return {
        scores: scores.scores,
        deltas: Object.keys(t.deltas).length,
        loss: t.metrics.loss,
        n: ev.numSamples,
      };
    }, suite.origin);
    expect(r.scores.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
    expect(r.deltas).toBeGreaterThan(0);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.n).toBe(per); // the official test split is the held-out one
  });

  it('keeps tfjs out of the page bundle (it lives in the worker)', () => {
    // tfjs-core's kernel registry error text marks the library in a bundle.
    const marker = /The kernel '|Backend name '/;
    const html = readFileSync(join(CLIENT_DIST, 'index.html'), 'utf8');
    const entry = /<script type="module"[^>]*src="\/client\/([^"]+)"/.exec(html)?.[1];
    expect(entry).toBeTruthy();
    expect(marker.test(readFileSync(join(CLIENT_DIST, entry!), 'utf8'))).toBe(false);
    const worker = readdirSync(join(CLIENT_DIST, 'assets')).find((f) => f.startsWith('worker-'));
    expect(marker.test(readFileSync(join(CLIENT_DIST, 'assets', worker!), 'utf8'))).toBe(true);
  });
});
