// `pnpm demo [--clients 4] [--rounds 5] [--port 8080] [--host 127.0.0.1] [--exit]
//            [--backend auto|webgl|wasm|cpu] [--steps 20] [--screenshots DIR]`
// A real federated run on this machine: starts the coordinator, opens N headless Chromium tabs
// (each a site with a different synthetic client's data in its own browser profile), runs R
// rounds of F3OCUS, prints one line per round, and keeps serving the dashboard until Ctrl-C
// (or stops when done with --exit). Also registers a "guest" site and prints its join link, so
// a person can open the site page in their own browser and join the next run.
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from '@focus-fl/testkit/browser';
import { CLIENT_NAMES } from '@focus-fl/core/data';
import buildPages from '../e2e/global-setup.js';
import { launch, siteContext } from '@focus-fl/testkit/browser';
import {
  startCoordinator,
  type Coordinator,
  type DashboardState,
} from '@focus-fl/testkit/coordinator';
import { waitUntil } from '@focus-fl/testkit/wait';
import { DEFAULT_CONFIG } from '../apps/coordinator/src/config.js';
import { pooledReference } from './demo-reference.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '5' },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    backend: { type: 'string', default: 'auto' },
    // Fewer local steps than DEFAULT_CONFIG (30): 4 browser tabs share 2 cores here, and a
    // round should stay under about a minute. Batch size and lr are DEFAULT_CONFIG's.
    steps: { type: 'string', default: '20' },
    // 1,500 samples per site: a 300-sample held-out split, so per-site accuracy means
    // something (95 % interval about ±5 points); the training split does not change a step's cost.
    floor: { type: 'string', default: '1500' },
    // After the federation, pooled training on the same data, samples and sequential steps
    // (docs/federated-recipe.md), printed beside the federation's result.
    'skip-reference': { type: 'boolean', default: false },
    exit: { type: 'boolean', default: false },
    screenshots: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function int(name: string, v: string | undefined, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be an integer in ${min}..${max}, got "${v}"`);
  }
  return n;
}

const pct = (x: number | null | undefined): string =>
  x == null ? '   -  ' : `${(100 * x).toFixed(1).padStart(5)}%`;
const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;

function printRound(r: DashboardState['rounds'][number], sites: string[]): void {
  const per = sites.map((s) => pct(r.perClient[s])).join(' ');
  const sel = sites
    .map(
      (s) =>
        (r.selection[s] ?? []).map((l) => l.replace(/^block(\d+)\.adapter$/, '$1')).join('') || '-',
    )
    .join(' ');
  console.log(
    `${String(r.round).padStart(5)}  ${pct(r.accuracy)}  ${per}  ${kib(r.bytesUp).padStart(10)} ${kib(r.bytesDown).padStart(10)}  ${sel}`,
  );
}

async function main(): Promise<void> {
  if (values.help) {
    console.log(
      'usage: pnpm demo [--clients N] [--rounds R] [--port P] [--host H] [--backend B] [--steps S] [--floor N] [--skip-reference] [--exit] [--screenshots DIR]',
    );
    return;
  }
  const n = int('clients', values.clients, 1, CLIENT_NAMES.length);
  const rounds = int('rounds', values.rounds, 1, 100);
  const port = int('port', values.port, 0, 65535);
  const steps = int('steps', values.steps, 1, 10_000);
  const floor = int('floor', values.floor, 20, 100_000);
  const backend = values.backend!;
  if (!['auto', 'webgpu', 'webgl', 'wasm', 'cpu'].includes(backend)) {
    throw new Error(`--backend must be auto, webgpu, webgl, wasm or cpu, got "${backend}"`);
  }
  const sites = CLIENT_NAMES.slice(0, n);
  buildPages();
  const budgets: Record<string, number> = Object.fromEntries(sites.map((s, i) => [s, 2 + (i % 2)]));
  const coord: Coordinator = await startCoordinator({
    sites: { ...budgets, guest: 2 },
    host: values.host,
    port,
    quiet: true,
    config: {
      strategy: 'f3ocus',
      algo: 'nsga2',
      rounds,
      steps,
      batchSize: DEFAULT_CONFIG.batchSize,
      lr: DEFAULT_CONFIG.lr,
      codec: 'fp16',
      minClients: n,
      minCompletionRate: 0.5,
      quorumGraceMs: 2000,
    },
  });
  const shownHost = values.host === '0.0.0.0' ? '<this-machine>' : '127.0.0.1';
  const base = coord.http.replace('127.0.0.1', shownHost);
  console.log(`coordinator: ${base}  (data in ${coord.dataDir})`);
  console.log(`dashboard:   ${coord.dashboardUrl().replace('127.0.0.1', shownHost)}`);
  console.log(
    `join as a site (guest) in your browser:\n  ${coord.joinUrl('guest').replace(/127\.0\.0\.1/g, shownHost)}`,
  );
  console.log(`opening ${n} headless site tabs (${backend} backend): ${sites.join(', ')}`);

  const browser: Browser = await launch();
  const pages: Page[] = [];
  for (const [i, s] of sites.entries()) {
    const page = await (await siteContext(browser)).newPage();
    page.on('pageerror', (e) => console.log(`[${s}] ${e.message}`));
    const extra: Record<string, string | number> = { synthetic: s, seed: 100 + i, scale: 0, floor };
    if (backend !== 'auto') extra.backend = backend;
    await page.goto(coord.joinUrl(s, extra));
    pages.push(page);
  }
  const backends = await Promise.all(
    pages.map((p) =>
      p.waitForSelector('body[data-backend]').then(() =>
        p.evaluate(() => {
          // `auto` measured each backend's training step (site page backend.ts).
          const { backend, stepMs } = document.body.dataset;
          return stepMs ? `${backend} (${Math.round(Number(stepMs))} ms/step probe)` : backend;
        }),
      ),
    ),
  );
  console.log(`tab backends: ${sites.map((s, i) => `${s}=${backends[i]}`).join(', ')}`);
  // The pooled reference trains in this process while the tabs federate (the coordinator is
  // a child process, the sites are Chromium's), after the tabs' backend probes so as not to
  // skew them: the two overlap instead of adding up (the demo took ~55 s longer with the
  // reference after the rounds). Its result does not depend on when it runs.
  const reference = values['skip-reference']
    ? null
    : pooledReference({ sites, seeds: sites.map((_, i) => 100 + i), floor, rounds, steps }).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
  console.log(
    `\nround  global  ${sites.map((s) => s.slice(0, 6).padStart(6)).join(' ')}     bytes up  bytes down  layers trained per site`,
  );

  const printed = new Set<number>();
  const started = Date.now();
  const final = await waitUntil(
    `${rounds} rounds`,
    async () => {
      const st = await coord.state();
      for (const r of st.rounds) {
        // A round is listed once its global evaluation is in (or the run has ended).
        if (!printed.has(r.round) && (r.accuracy !== null || st.phase === 'done')) {
          printed.add(r.round);
          printRound(r, sites);
        }
      }
      return st.phase === 'done' ? st : null;
    },
    { timeoutMs: 3_600_000, intervalMs: 1000 },
  );
  const last = final.rounds[final.rounds.length - 1];
  const first = final.rounds.find((r) => r.round === 0) ?? final.rounds[0];
  const up = final.rounds.reduce((a, r) => a + r.bytesUp, 0);
  const down = final.rounds.reduce((a, r) => a + r.bytesDown, 0);
  console.log(
    `\ndone in ${((Date.now() - started) / 1000).toFixed(0)} s (${(performance.now() / 1000).toFixed(0)} s since the demo started, pages built and tabs opened): global accuracy ${pct(first.accuracy)} -> ${pct(last.accuracy)}, traffic ${kib(up)} up, ${kib(down)} down`,
  );

  if (reference) {
    const got = await reference;
    if (!got.ok) throw got.e;
    const ref = got.r;
    const per = sites.map((s) => pct(ref.perSite[s])).join(' ');
    console.log(
      `pooled reference (the same data in one place, ${ref.what}): ${pct(ref.accuracy)}  [${per}]` +
        `
federation minus pooled: ${(100 * ((last.accuracy ?? 0) - ref.accuracy)).toFixed(1)} points`,
    );
  }

  if (values.screenshots) {
    mkdirSync(values.screenshots, { recursive: true });
    await pages[0].setViewportSize({ width: 1100, height: 820 });
    await pages[0].screenshot({ path: join(values.screenshots, 'client.png') });
    const dash = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    await dash.goto(coord.dashboardUrl());
    await dash.waitForSelector(`body[data-rounds="${final.rounds.length}"]`);
    await dash.screenshot({ path: join(values.screenshots, 'dashboard.png'), fullPage: true });
    console.log(`screenshots in ${values.screenshots}`);
  }

  const shutdown = async (): Promise<void> => {
    await browser.close().catch(() => undefined);
    await coord.stop();
  };
  if (values.exit) {
    await shutdown();
    return;
  }
  console.log(`\nstill serving ${base}/dashboard/ (log in with the link above) — Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await shutdown();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
