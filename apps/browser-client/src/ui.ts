// Small DOM helpers for the site page (no framework: the page has a handful of widgets).
import type { Thumb } from './api.js';
import type { DataSummary } from './storage.js';

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`site page markup lacks #${id}`);
  return e as T;
};

export function setProgress(name: string, done: number, total: number, text?: string): void {
  const bar = $<HTMLProgressElement>(`p-${name}`);
  bar.max = Math.max(1, total);
  bar.value = Math.min(done, bar.max);
  $(`t-${name}`).textContent = text ?? (total > 0 ? `${Math.round((100 * done) / total)}%` : '');
}

export function fmtBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(2)} MiB`;
}

function table(host: HTMLElement, header: string[], rows: (string | number)[][]): void {
  const head = document.createElement('tr');
  for (const h of header) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  host.replaceChildren(
    head,
    ...rows.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.key = String(r[0]);
      for (const v of r) {
        const td = document.createElement('td');
        td.textContent = String(v);
        tr.append(td);
      }
      return tr;
    }),
  );
}

export function renderSummary(s: DataSummary): void {
  const n = s.train + s.test;
  document.body.dataset.samples = String(n);
  $('data-summary').textContent =
    n === 0
      ? 'no data yet'
      : `${n} samples (${s.train} train, ${s.test} held-out) from ${s.sources.join(', ') || '—'}`;
  // Which MedMNIST subsets each client's files held (partial sites are fine).
  $('subsets-found').replaceChildren(
    ...Object.entries(s.medmnist ?? {}).map(([client, c]) => {
      const li = document.createElement('li');
      li.dataset.client = client;
      li.textContent =
        `${client}: ${c.found.join(', ')}` +
        (c.missing.length ? ` (partial site; no ${c.missing.join(', ')})` : ' (all subsets)');
      return li;
    }),
  );
  table(
    $('type-counts'),
    ['question type', 'samples'],
    Object.entries(s.perType).sort((a, b) => b[1] - a[1]),
  );
}

export function renderThumbs(thumbs: Thumb[]): void {
  $('thumbs').replaceChildren(
    ...thumbs.map((t) => {
      const fig = document.createElement('figure');
      const c = document.createElement('canvas');
      c.width = t.size;
      c.height = t.size;
      c.getContext('2d')?.putImageData(
        new ImageData(new Uint8ClampedArray(t.rgba), t.size, t.size),
        0,
        0,
      );
      const cap = document.createElement('figcaption');
      cap.textContent = t.label;
      fig.append(c, cap);
      return fig;
    }),
  );
}

export function renderErrors(errors: { message: string }[], notes: string[]): void {
  $('import-errors').replaceChildren(
    ...errors.map((e) => {
      const li = document.createElement('li');
      li.className = 'error';
      li.textContent = e.message;
      return li;
    }),
    ...notes.map((n) => {
      const li = document.createElement('li');
      li.className = 'note';
      li.textContent = n;
      return li;
    }),
  );
}

export function renderAccuracy(
  perType: Record<string, { accuracy: number; n: number }>,
  overall: number,
): void {
  table(
    $('accuracy'),
    ['question type', 'accuracy', 'n'],
    [
      [
        'all',
        `${(overall * 100).toFixed(1)}%`,
        Object.values(perType).reduce((a, b) => a + b.n, 0),
      ],
      ...Object.entries(perType).map(([k, v]) => [k, `${(v.accuracy * 100).toFixed(1)}%`, v.n]),
    ],
  );
}

export function logHistory(text: string): void {
  const li = document.createElement('li');
  li.textContent = text;
  $('history').append(li);
}
