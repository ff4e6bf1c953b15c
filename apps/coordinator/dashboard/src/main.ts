// Dashboard entry: GET /api/state once, then ws /api/live (read-only) pushes the same JSON on
// every change. Everything is re-rendered from the latest state; no client-side history.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { parseState, type DashboardState, type DashboardView } from './state.js';
import { renderHeatmap } from './heatmap.js';
import { Chart, accuracySpec, bytesSpec, frontSpec, lossSpec } from './charts.js';

const $ = (id: string): HTMLElement => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`dashboard markup lacks #${id}`);
  return e;
};

const charts = {
  acc: new Chart($('acc')),
  loss: new Chart($('loss')),
  bytes: new Chart($('bytes')),
  front: new Chart($('front')),
};

function fmtBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(2)} MiB`;
}

function renderSites(state: DashboardState): void {
  const body = $('sites').querySelector('tbody');
  if (!body) return;
  body.replaceChildren(
    ...state.sites.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.site = s.name;
      for (const v of [
        s.name,
        s.status,
        s.backend ?? '—',
        String(s.budget),
        s.connected ? 'yes' : 'no',
        s.stepMs === null ? '—' : `${(s.stepMs / 1000).toFixed(2)} s`,
        s.memoryBytes === null ? '—' : fmtBytes(s.memoryBytes),
      ]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      tr.className = s.connected ? 'on' : 'off';
      return tr;
    }),
  );
}

function render(state: DashboardView): void {
  const last = state.rounds[state.rounds.length - 1];
  const total = state.rounds.reduce((a, r) => a + r.bytesUp + r.bytesDown, 0);
  const aborts = state.rounds.concat(state.aborted).reduce((a, r) => a + r.aborts, 0);
  $('summary').textContent =
    `strategy ${state.strategy} · round ${Math.min(state.round, state.totalRounds)}/${state.totalRounds} · phase ${state.phase}` +
    (last?.accuracy != null ? ` · global accuracy ${(last.accuracy * 100).toFixed(1)}%` : '') +
    ` · traffic ${fmtBytes(total)}` +
    (aborts > 0 ? ` · ${aborts} aborted attempt${aborts === 1 ? '' : 's'}` : '');
  const paused = $('paused');
  paused.hidden = state.pausedReason === null;
  paused.textContent = state.pausedReason
    ? `Federation ${state.pausedReason}. Fix the cause, then resume (POST /api/resume) or restart the coordinator.`
    : '';
  document.body.dataset.round = String(state.round);
  document.body.dataset.phase = state.phase;
  document.body.dataset.rounds = String(state.rounds.length);
  renderSites(state);
  renderHeatmap($('heatmap'), state);
  if (state.rounds.length > 0) {
    charts.acc.update(accuracySpec(state));
    charts.loss.update(lossSpec(state));
    charts.bytes.update(bytesSpec(state));
  }
  const f = frontSpec(state);
  if (f) charts.front.update(f);
  else $('front').textContent = 'no Pareto front yet (the strategy may not produce one)';
}

function showError(msg: string): void {
  $('summary').textContent = msg;
  document.body.dataset.error = msg;
}

function accept(raw: unknown): void {
  try {
    render(parseState(raw));
  } catch (e) {
    showError(`bad state from coordinator: ${(e as Error).message}`);
  }
}

async function load(): Promise<void> {
  const res = await fetch(new URL('../api/state', location.href));
  // No (or an expired) session: the login page sets one.
  if (res.status === 401) location.replace(new URL('login', location.href));
  if (!res.ok) throw new Error(`GET /api/state answered ${res.status}`);
  accept(await res.json());
}

function connectLive(delay = 500): void {
  const url = new URL('../api/live', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  const dot = $('live');
  ws.onopen = () => {
    dot.className = 'live on';
    delay = 500;
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== 'string') return;
    try {
      accept(JSON.parse(ev.data));
    } catch (e) {
      showError(`bad live message: ${(e as Error).message}`);
    }
  };
  ws.onclose = () => {
    dot.className = 'live off';
    // Coordinator restarts are expected (it resumes from its store): reconnect with backoff.
    setTimeout(() => connectLive(Math.min(delay * 2, 10_000)), delay);
  };
}

load()
  .catch((e: unknown) => showError((e as Error).message))
  .finally(() => connectLive());
