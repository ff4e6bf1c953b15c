// The site page (UI only; never imports tfjs). All tfjs work happens in worker.ts behind a
// comlink API; the federation protocol runs in connection.ts. A join link looks like
//   /client/?coordinator=ws://host:port/ws[&backend=wasm][&synthetic=oct]#token=SITE_TOKEN
// The token rides in the fragment, which the browser never sends to a server. Old links with
// `?token=` still work; the page then drops it from the address bar.
import './style.css';
import { proxy, wrap } from 'comlink';
import { CLIENT_NAMES } from '@focus-fl/core/data';
import type { BackendName, ImportReport, SyntheticOptions, WorkerApi } from './api.js';
import { BACKEND_ORDER } from './api.js';
import { Connection } from './connection.js';
import {
  $,
  fmtBytes,
  logHistory,
  renderAccuracy,
  renderErrors,
  renderSummary,
  renderThumbs,
  setProgress,
} from './ui.js';

const params = new URLSearchParams(location.search);
const fragment = new URLSearchParams(location.hash.slice(1));
const stored = (k: string): string => localStorage.getItem(`focus-fl.${k}`) ?? '';
const coordinatorParam = params.get('coordinator') ?? stored('coordinator');
const tokenParam = fragment.get('token') ?? params.get('token') ?? stored('token');
if (fragment.has('token') || params.has('token')) {
  // Keep the token out of the history, bookmarks and screenshots of the address bar.
  params.delete('token');
  const query = params.toString();
  history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
}
const forced = params.get('backend') as BackendName | null;
const body = document.body;

/** What tests and the demo read back (also visible in the page). */
const record = {
  uploads: [] as { round: number; layers: string[]; bytes: number }[],
  evaluations: [] as { round: number; accuracy: number }[],
  modelCached: null as boolean | null,
  /** Every progress report of the base's download, in order: the first (done 0) gives its
   * size before a byte is fetched (model-cache.ts). */
  modelProgress: [] as { done: number; total: number }[],
  errors: [] as string[],
};

function fail(msg: string): void {
  record.errors.push(msg);
  body.dataset.error = msg;
  $('conn').textContent = msg;
}

const worker = wrap<WorkerApi>(
  new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'focus-fl-worker' }),
);

// Tests and the demo read `focusSite` (uploads, evaluations) and may drive the worker directly
// (backend comparisons); nothing in it can send data anywhere.
(window as unknown as { focusSite: unknown }).focusSite = Object.assign(record, { worker, proxy });

async function refreshData(report?: ImportReport): Promise<number> {
  const s = report?.summary ?? (await worker.summary());
  renderSummary(s);
  renderThumbs(await worker.thumbnails(6));
  if (report) renderErrors(report.errors, report.notes);
  return s.train;
}

function importProgress(done: number, total: number, label?: string): void {
  setProgress('import', done, total, label ? `${done}/${total} ${label}`.slice(0, 40) : undefined);
}

let connection: Connection | null = null;
let backend: BackendName = 'cpu';

async function join(): Promise<void> {
  const url = $<HTMLInputElement>('coordinator').value.trim();
  const token = $<HTMLInputElement>('token').value.trim();
  if (!url || !token) return fail('join needs the coordinator URL and the site token');
  const numSamples = (await worker.summary()).train;
  if (numSamples === 0) return fail('import data (or use a synthetic client) before joining');
  localStorage.setItem('focus-fl.coordinator', url);
  localStorage.setItem('focus-fl.token', token);
  connection?.leave();
  const conn = new Connection(worker, {
    status: (s) => {
      body.dataset.phase = s.phase;
      body.dataset.round = String(s.round);
      $('phase').textContent = s.phase;
      $('round').textContent = String(s.round);
      if (s.site) $('site-name').textContent = `· ${s.site}`;
      $('assigned').textContent = s.assigned?.join(', ') ?? '–';
      $('conn').textContent = s.message ?? `connected to ${url}`;
      if (s.phase === 'training') setProgress('train', 0, 1, 'starting');
    },
    traffic: (up, down) => {
      $('traffic').textContent = `${fmtBytes(up)} up · ${fmtBytes(down)} down`;
    },
    model: ({ done, total, info, error }) => {
      if (error) return fail(error);
      if (info) {
        record.modelCached = info.cached;
        body.dataset.model = info.cached ? 'cached' : 'downloaded';
        setProgress(
          'model',
          1,
          1,
          `${fmtBytes(info.bytes)} ${info.cached ? '(cache)' : ''} · ${fmtBytes(info.residentBytes)} in memory (fp32: ${fmtBytes(info.fp32Bytes)})`,
        );
      } else {
        record.modelProgress.push({ done, total });
        if (done === 0) body.dataset.modelSize = String(total);
        setProgress(
          'model',
          done,
          total,
          done === 0 ? `${fmtBytes(total)} to download` : `${fmtBytes(done)} / ${fmtBytes(total)}`,
        );
      }
    },
    lntk: (done, total, label) => setProgress('lntk', done, total, label),
    train: (done, total, label) => setProgress('train', done, total, label),
    evaluated: (round, m) => {
      record.evaluations.push({ round, accuracy: m.accuracy });
      renderAccuracy(m.perType, m.accuracy);
      logHistory(`round ${round}: held-out accuracy ${(m.accuracy * 100).toFixed(1)}%`);
    },
    uploaded: (round, layers, bytes) => {
      record.uploads.push({ round, layers, bytes });
      logHistory(`round ${round}: sent deltas of ${layers.join(', ')} (${fmtBytes(bytes)})`);
    },
  });
  connection = conn;
  const outcome = await conn.run({ url, token, backend, numSamples });
  if (outcome === 'fatal') fail(conn.status?.message ?? 'the coordinator refused this site');
  else $('conn').textContent = 'federation finished';
}

function wireControls(): void {
  const sel = $<HTMLSelectElement>('synthetic-name');
  for (const n of CLIENT_NAMES) sel.append(new Option(n, n));
  const onFiles = async (input: HTMLInputElement): Promise<void> => {
    const files = [...(input.files ?? [])];
    input.value = '';
    if (!files.length) return;
    body.dataset.importing = '1';
    $('cancel-import').hidden = false;
    try {
      const report = await worker.importFiles(files, proxy(importProgress));
      await refreshData(report);
      if (report.cancelled) body.dataset.importCancelled = String(report.imported);
      else delete body.dataset.importCancelled;
      body.dataset.imported = String(report.imported);
    } catch (e) {
      const err = e as { name?: string; message?: string };
      fail(`import failed: ${err.message || err.name || String(e)}`);
    } finally {
      delete body.dataset.importing;
      $('cancel-import').hidden = true;
    }
  };
  $<HTMLInputElement>('files').addEventListener(
    'change',
    (e) => void onFiles(e.target as HTMLInputElement),
  );
  $<HTMLInputElement>('folder').addEventListener(
    'change',
    (e) => void onFiles(e.target as HTMLInputElement),
  );
  $('synthetic').addEventListener('click', () => void useSynthetic(sel.value));
  $('cancel-import').addEventListener('click', () => void worker.cancelImport());
  $('forget').addEventListener('click', () => {
    void (async () => {
      connection?.leave();
      await worker.forget();
      localStorage.removeItem('focus-fl.token');
      await refreshData();
      renderErrors([], ['local data and federation state forgotten']);
    })();
  });
  $('join').addEventListener('click', () => void join());
  $('toggle-thumbs').addEventListener('click', () => $('thumbs').classList.toggle('hidden'));
  $('leave').addEventListener('click', () => connection?.leave());
}

/** Synthetic data options from the URL (`seed`, `scale`, `floor`), for the demo and tests. */
function syntheticOptions(): SyntheticOptions {
  const num = (k: string): number | undefined =>
    params.has(k) ? Number(params.get(k)) : undefined;
  return { seed: num('seed') ?? 1, scale: num('scale'), floor: num('floor') };
}

async function useSynthetic(name: string): Promise<void> {
  body.dataset.importing = '1';
  try {
    const report = await worker.useSynthetic(name, syntheticOptions(), proxy(importProgress));
    await refreshData(report);
    body.dataset.imported = String(report.imported);
  } finally {
    delete body.dataset.importing;
  }
}

async function start(): Promise<void> {
  wireControls();
  $<HTMLInputElement>('coordinator').value = coordinatorParam;
  $<HTMLInputElement>('token').value = tokenParam;
  if (forced && !BACKEND_ORDER.includes(forced)) {
    return fail(`backend "${forced}" is not one of ${BACKEND_ORDER.join(', ')}`);
  }
  try {
    const wasmBase = new URL(`${import.meta.env.BASE_URL}wasm/`, location.origin).toString();
    const info = await worker.init({ backend: forced ?? undefined, wasmBase });
    backend = info.backend;
    const step = info.stepMs === undefined ? '' : ` · ${info.stepMs.toFixed(0)} ms/step`;
    $('backend').textContent = `${info.backend}${step}`;
    const probes = (info.probes ?? []).map(
      (p) => `${p.backend}: ${p.stepMs === null ? p.note : `${p.stepMs.toFixed(0)} ms/step`}`,
    );
    $('backend').title = [...probes, ...info.skipped].join('\n');
    body.dataset.backend = info.backend;
    if (info.stepMs !== undefined) body.dataset.stepMs = info.stepMs.toFixed(1);
  } catch (e) {
    $('backend').textContent = 'none';
    return fail((e as Error).message);
  }
  let train = await refreshData();
  const synthetic = params.get('synthetic');
  if (train === 0 && synthetic) {
    await useSynthetic(synthetic);
    train = (await worker.summary()).train;
  }
  body.dataset.ready = '1';
  if (train > 0 && coordinatorParam && tokenParam && params.get('autojoin') !== '0') await join();
}

void start();
