// Layer-selection heat map across rounds (paper Fig. 5): one row per adapter layer, one column
// per round, colour = how many sites trained that layer; the tooltip names them.
import { selectionCounts, type DashboardState } from './state.js';

const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** White (0 sites) to deep blue (all sites). */
function colour(count: number, max: number): string {
  if (count === 0) return '#f3f4f6';
  const t = max > 0 ? count / max : 0;
  const light = 88 - 58 * t;
  return `hsl(215 75% ${light.toFixed(0)}%)`;
}

export function renderHeatmap(host: HTMLElement, full: DashboardState): void {
  host.replaceChildren();
  // Round 0 is the base evaluation (nobody trains): leave it out of the selection picture.
  const state = { ...full, rounds: full.rounds.filter((r) => r.round > 0) };
  if (state.layers.length === 0 || state.rounds.length === 0) {
    host.textContent = 'no finished round yet';
    return;
  }
  const counts = selectionCounts(state);
  const max = Math.max(1, state.sites.length, ...counts.flat());
  const cell = Math.max(14, Math.min(36, Math.floor(720 / Math.max(1, state.rounds.length))));
  const rowH = 18;
  const left = 120;
  const top = 20;
  const width = left + cell * state.rounds.length + 80;
  const height = top + rowH * state.layers.length + 6;
  const svg = el('svg', { width, height, role: 'img', 'aria-label': 'layer selection heat map' });
  state.rounds.forEach((r, j) => {
    const t = el('text', {
      x: left + j * cell + cell / 2,
      y: 14,
      'text-anchor': 'middle',
      class: 'axis',
    });
    t.textContent = String(r.round);
    svg.append(t);
  });
  state.layers.forEach((layer, i) => {
    const y = top + i * rowH;
    const label = el('text', { x: left - 6, y: y + rowH - 5, 'text-anchor': 'end', class: 'axis' });
    label.textContent = layer;
    svg.append(label);
    state.rounds.forEach((r, j) => {
      const n = counts[i][j];
      const rect = el('rect', {
        x: left + j * cell + 1,
        y: y + 1,
        width: cell - 2,
        height: rowH - 2,
        fill: colour(n, max),
        'data-layer': layer,
        'data-round': r.round,
        'data-count': n,
      });
      const who = Object.entries(r.selection)
        .filter(([, ls]) => ls.includes(layer))
        .map(([s]) => s);
      const title = el('title', {});
      title.textContent = `round ${r.round}, ${layer}: ${n} site(s)${who.length ? ' — ' + who.join(', ') : ''}`;
      rect.append(title);
      svg.append(rect);
    });
  });
  // Legend: 0 .. max sites.
  const lx = left + cell * state.rounds.length + 14;
  for (let k = 0; k <= max; k++) {
    svg.append(el('rect', { x: lx, y: top + k * 14, width: 12, height: 12, fill: colour(k, max) }));
    const t = el('text', { x: lx + 16, y: top + k * 14 + 10, class: 'axis' });
    t.textContent = String(k);
    svg.append(t);
  }
  host.append(svg);
}
