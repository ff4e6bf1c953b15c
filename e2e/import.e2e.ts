// Data import in the site page: MedMNIST npz, PNG + CSV questions, DICOM; a corrupt npz and a
// corrupt PNG each get a clear message naming the file while the rest imports; the data
// survives a reload; "forget data" clears it. No coordinator needed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launch, siteContext, watch } from '@focus-fl/testkit/browser';
import { dicom16, grayPng, medmnistNpz } from '@focus-fl/testkit/fixtures';
import { tinyCheckpoint } from '@focus-fl/testkit/model';
import { serveClient, type StaticServer } from '@focus-fl/testkit/static';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_DIST } from '@focus-fl/testkit/paths';

describe('site page import', () => {
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

  it('imports good files, names the bad ones, persists, and forgets', async () => {
    const page = await (await siteContext(browser)).newPage();
    watch(page, 'import');
    await page.goto(`${server.origin}/client/?backend=cpu`);
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
