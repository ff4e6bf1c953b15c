/**
 * `pnpm experiment report DIR`: DIR/report.md and its SVG figures, from DIR/results.jsonl
 * (and DIR/spec.json for the order and the run parameters, DIR/notes.md — hand-written
 * conclusions — included verbatim). Deterministic: no clock, no randomness, fixed order.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRESETS } from '@focus-fl/core/model';
import { readNotes, readResults, RESULTS_FILE, type ResultLine } from '../results.js';
import { labelOf, runKey, type Setting, type Spec } from '../spec.js';
import { analyse, groupKey, labelOfLine, type Analysis } from './analyse.js';
import { settingReferences, type References } from './references.js';
import { mean, sd } from './stats.js';
import {
  accuracyByRound,
  accuracyVsUplink,
  costPerRound,
  pairedDifferences,
  renderSvg,
  selectionHeatmap,
} from './plots.js';

const pct1 = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '-');
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;

function describeSetting(s: Setting): string {
  switch (s.kind) {
    case 'clients':
      return `${s.clients.length} synthetic clients (${s.clients.join(', ')})`;
    case 'domain-gap':
      return `${s.sites.length} sites, all ${s.client} (${s.samples} samples each), shifted style/noise: ${s.sites
        .map((x) => JSON.stringify(x))
        .join(' ')}`;
    case 'label-skew':
      return `${s.sites} sites from ${s.samples} ${s.client} samples, Dirichlet label split alpha ${s.alpha}`;
  }
}

function labelOrder(spec: Spec | null): string[] {
  if (!spec) return [];
  return spec.strategies.flatMap((e) => {
    const strategy = typeof e === 'string' ? e : e.strategy;
    const label = labelOf(e);
    return strategy === 'f3ocus' ? (spec.algos ?? ['nsga2']).map((a) => `${label}:${a}`) : [label];
  });
}

export function renderMarkdown(
  a: Analysis,
  spec: Spec | null,
  notes: string | null,
  runs: number,
  fallbacks: string[] = [],
  refs: Map<string, References> = new Map(),
  commits: string[] = [],
): string {
  const out: string[] = [];
  const p = (s = '') => out.push(s);
  p(`# Experiment report: ${spec?.name ?? 'results'}`);
  p();
  if (spec?.description) {
    p(spec.description);
    p();
  }
  if (spec) {
    p(
      `Preset \`${spec.preset}\`, ${spec.rounds} rounds x ${spec.steps} local steps` +
        `${spec.batchSize ? ` (batch ${spec.batchSize})` : ''}, budget L_i,max = ${spec.budget}` +
        `, seeds ${spec.seeds.join(', ')}${spec.headline ? ` (${spec.headline.strategies.join(', ')} also ${spec.headline.seeds.join(', ')})` : ''}. ${runs} runs in ${RESULTS_FILE}. Accuracy = global held-out accuracy` +
        ` (sample-weighted mean of the sites' test accuracies) after the last round.`,
    );
    p();
    p('| setting | sites |');
    p('|---|---|');
    for (const s of a.settings)
      p(`| ${s} | ${spec.settings[s] ? describeSetting(spec.settings[s]) : '?'} |`);
    p();
  }

  p('## Final accuracy, mean ± sd over seeds (%) — the Table 1 layout');
  p();
  p(`| strategy | ${a.settings.join(' | ')} |`);
  p(`|---|${a.settings.map(() => '---').join('|')}|`);
  // Means over the spec's own seeds, so that every row averages the same data draws; a
  // headline strategy's extra seeds are shown beside (its paired differences use them).
  const mainSeeds = spec ? new Set(spec.seeds) : null;
  const onMain = (g: { finalBySeed: Map<number, number> }) => {
    const xs = [...g.finalBySeed].filter(([seed]) => !mainSeeds || mainSeeds.has(seed));
    return { m: mean(xs.map(([, v]) => v)), sd: sd(xs.map(([, v]) => v)), n: xs.length };
  };
  for (const label of a.labels) {
    const cells = a.settings.map((s) => {
      const g = a.groups.get(groupKey(s, label));
      if (!g) return '';
      const best = Math.max(
        ...a.labels.map((l) => {
          const o = a.groups.get(groupKey(s, l));
          return o ? onMain(o).m : -Infinity;
        }),
      );
      const main = onMain(g);
      let cell = `${pct1(main.m)} ± ${pct1(main.sd)} (n=${main.n})`;
      if (main.m === best) cell = `**${cell}**`;
      if (main.n < g.finalBySeed.size)
        cell += `; all ${g.finalBySeed.size} seeds ${pct1(g.finalMean)} ± ${pct1(g.finalSd)}`;
      return cell;
    });
    p(`| ${label} | ${cells.join(' | ')} |`);
  }
  if (refs.size > 0) {
    const row = (name: string, f: (r: References) => number) =>
      p(
        `| *${name}* | ${a.settings.map((s) => (refs.has(s) ? `*${pct1(f(refs.get(s)!))}*` : '')).join(' | ')} |`,
      );
    row('reference: majority answer', (r) => r.majority);
    row('reference: answer prior per question', (r) => r.questionPrior);
  }
  p();
  p(
    `Mean ± sd over the seeds ${spec ? spec.seeds.join(', ') : ''} (the same data draws in every row; a headline strategy's extra seeds beside). Bold: highest mean in the column. References (italic; same held-out sets, mean over the seeds): the pooled training set's most frequent answer, and its most frequent answer for each question text — what a model that ignores the image reaches.`,
  );
  p();

  p(`## Paired differences ${a.reference ?? 'F3OCUS'} − X (points, 95 % t-interval over seeds)`);
  p();
  if (!a.reference) {
    p('No f3ocus runs in these results: no paired differences.');
  } else {
    p(`| X | ${a.settings.join(' | ')} |`);
    p(`|---|${a.settings.map(() => '---').join('|')}|`);
    for (const label of a.labels) {
      if (label === a.reference) continue;
      const cells = a.settings.map((s) => {
        const d = a.paired.get(groupKey(s, label));
        if (!d || d.n === 0) return '';
        if (d.lo === null) return `${signed(d.mean)} (n=${d.n})`;
        if (d.sd === 0) return `${signed(d.mean)} (the same on all ${d.n} seeds)`;
        const verdict = d.lo > 0 ? ' win' : d.hi! < 0 ? ' loss' : '';
        return `${signed(d.mean)} [${signed(d.lo)}, ${signed(d.hi!)}]${verdict}`;
      });
      p(`| ${label} | ${cells.join(' | ')} |`);
    }
    p();
    p(
      '"win": the whole interval is above 0 (F3OCUS better); "loss": below 0; otherwise the difference is inside the seed noise.',
    );
  }
  p();
  if (a.reference) {
    for (const s of a.settings) p(`![paired ${s}](paired-${s}.svg)`);
    p();
  }

  p('## Accuracy by round (seed bands)');
  p();
  for (const s of a.settings) p(`![accuracy by round ${s}](accuracy-${s}.svg)`);
  p();

  p('## Accuracy vs uplink per round — the Table 2 trade-off');
  p();
  for (const s of a.settings) {
    p(`### ${s}`);
    p();
    p(
      '| strategy | final accuracy (%) | uplink MBit / round (all sites) | uplink MBit / round / site | downlink MBit / round |',
    );
    p('|---|---|---|---|---|');
    for (const label of a.labels) {
      const g = a.groups.get(groupKey(s, label));
      if (!g) continue;
      p(
        `| ${label} | ${pct1(g.finalMean)} ± ${pct1(g.finalSd)} | ${g.upMbitPerRound.toFixed(3)} | ${g.upMbitPerSiteRound.toFixed(3)} | ${g.downMbitPerRound.toFixed(3)} |`,
      );
    }
    p();
    p(`![accuracy vs uplink ${s}](tradeoff-${s}.svg)`);
    p();
  }

  p('## Layer selection across rounds (Fig. 5)');
  p();
  p(
    'Share of (seed, site) pairs that trained each layer in each round; the head is always trained.',
  );
  p();
  for (const s of a.settings) {
    p(`![layer selection ${s}](selection-${s}.svg)`);
    p();
    p('| strategy | most selected layers (share over all rounds) |');
    p('|---|---|');
    for (const label of a.labels) {
      const g = a.groups.get(groupKey(s, label));
      if (!g) continue;
      const total = new Map<string, number>();
      for (const x of g.selection) total.set(x.layer, (total.get(x.layer) ?? 0) + x.fraction);
      const rounds = new Set(g.selection.map((x) => x.round)).size || 1;
      const top = [...total]
        .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
        .slice(0, 3)
        .map(([l, v]) => `${l} ${(v / rounds).toFixed(2)}`);
      p(`| ${label} | ${top.join(', ')} |`);
    }
    p();
  }

  p('## Cost per round');
  p();
  p(
    'Backward depth = number of blocks from the earliest selected layer to the output (back-propagation stops there); training ms = mean per-site wall time of local training (machine-dependent).',
  );
  p();
  for (const s of a.settings) {
    p(`![cost ${s}](cost-${s}.svg)`);
    p();
  }
  p('| strategy | ' + a.settings.map((s) => `${s}: depth / ms`).join(' | ') + ' |');
  p(`|---|${a.settings.map(() => '---').join('|')}|`);
  for (const label of a.labels) {
    const cells = a.settings.map((s) => {
      const g = a.groups.get(groupKey(s, label));
      if (!g) return '';
      return `${g.backwardDepth === null ? '-' : g.backwardDepth.toFixed(2)} / ${g.trainMs === null ? '-' : Math.round(g.trainMs)}`;
    });
    p(`| ${label} | ${cells.join(' | ')} |`);
  }
  p();

  p('## Summary (generated from the numbers above)');
  p();
  for (const s of a.settings) {
    const present = a.labels.filter((l) => a.groups.has(groupKey(s, l)));
    const best = present.reduce((x, y) =>
      a.groups.get(groupKey(s, y))!.finalMean > a.groups.get(groupKey(s, x))!.finalMean ? y : x,
    );
    const line = [
      `- **${s}**: highest mean ${best} (${pct1(a.groups.get(groupKey(s, best))!.finalMean)} %).`,
    ];
    if (a.reference && a.groups.has(groupKey(s, a.reference))) {
      const wins: string[] = [];
      const losses: string[] = [];
      const ties: string[] = [];
      for (const l of present) {
        const d = a.paired.get(groupKey(s, l));
        if (!d || d.lo === null) continue;
        if (d.lo > 0) wins.push(`${l} (${signed(d.mean)})`);
        else if (d.hi! < 0) losses.push(`${l} (${signed(d.mean)})`);
        else ties.push(l);
      }
      line.push(
        `${a.reference} ${pct1(a.groups.get(groupKey(s, a.reference))!.finalMean)} %: better than ${wins.length ? wins.join(', ') : 'none'}; worse than ${losses.length ? losses.join(', ') : 'none'}; inside the noise against ${ties.length ? ties.join(', ') : 'none'} (95 % intervals).`,
      );
    }
    p(line.join(' '));
  }
  p();
  if (fallbacks.length > 0) {
    p('## F3OCUS solver fallbacks');
    p();
    p(
      'Rounds in which the solver missed its hard deadline and the coordinator used the client-only top-B selection instead (DIR/run-notes.jsonl; a loaded machine makes this more likely):',
    );
    p();
    for (const f of fallbacks) p(`- ${f}`);
    p();
  }
  if (commits.length > 0) {
    p('## Source');
    p();
    p('The commit each run was made with (DIR/run-notes.jsonl):');
    p();
    for (const c of commits) p(`- ${c}`);
    p();
  }
  if (notes) {
    p('## Notes');
    p();
    p(notes.trim());
    p();
  }
  return out.join('\n');
}

/** Writes report.md and the figures; returns the file names written. */
export async function writeReport(dir: string): Promise<string[]> {
  const lines = readResults(dir);
  if (lines.length === 0) throw new Error(`${join(dir, RESULTS_FILE)}: no results to report`);
  const specPath = join(dir, 'spec.json');
  const spec = existsSync(specPath) ? (JSON.parse(readFileSync(specPath, 'utf8')) as Spec) : null;
  const notesPath = join(dir, 'notes.md');
  const notes = existsSync(notesPath) ? readFileSync(notesPath, 'utf8') : null;
  const preset = spec
    ? (PRESETS as Record<string, { numLayers: number } | undefined>)[spec.preset]
    : undefined;
  const a = analyse(lines, {
    settingOrder: spec ? Object.keys(spec.settings) : [],
    labelOrder: labelOrder(spec),
    numLayers: preset?.numLayers,
  });
  const files: [string, string][] = [
    [
      'report.md',
      renderMarkdown(
        a,
        spec,
        notes,
        lines.length,
        fallbackLines(a, lines, dir),
        references(a, lines, spec),
        commitLines(lines, dir),
      ),
    ],
  ];
  for (const s of a.settings) {
    files.push([`accuracy-${s}.svg`, await renderSvg(accuracyByRound(a, s))]);
    if (a.reference) files.push([`paired-${s}.svg`, await renderSvg(pairedDifferences(a, s))]);
    files.push([`tradeoff-${s}.svg`, await renderSvg(accuracyVsUplink(a, s))]);
    files.push([`selection-${s}.svg`, await renderSvg(selectionHeatmap(a, s))]);
    files.push([`cost-${s}.svg`, await renderSvg(costPerRound(a, s))]);
  }
  for (const [name, text] of files)
    writeFileSync(join(dir, name), text.endsWith('\n') ? text : text + '\n');
  return files.map(([n]) => n);
}

/** "setting / label: k of n rounds" for the f3ocus groups (labels with an algo), from DIR/run-notes.jsonl. */
function fallbackLines(a: Analysis, lines: readonly ResultLine[], dir: string): string[] {
  const notes = readNotes(dir);
  if (notes.size === 0) return [];
  const out: string[] = [];
  for (const s of a.settings) {
    for (const label of a.labels.filter((l) => l.includes(':'))) {
      const ls = lines.filter((l) => l.setting === s && labelOfLine(l) === label);
      if (ls.length === 0) continue;
      const known = ls.filter((l) => notes.has(runKey(l)));
      const k = known.reduce((acc, l) => acc + notes.get(runKey(l))!.solverFallbacks, 0);
      const n = known.reduce((acc, l) => acc + l.rounds.length, 0);
      out.push(
        `${s} / ${label}: ${k} of ${n} rounds${known.length < ls.length ? ` (notes for ${known.length} of ${ls.length} runs)` : ''}`,
      );
    }
  }
  return out;
}

/** "commit: n runs" over the result lines, from DIR/run-notes.jsonl (first seen order). */
function commitLines(lines: readonly ResultLine[], dir: string): string[] {
  const notes = readNotes(dir);
  if (notes.size === 0) return [];
  const count = new Map<string, number>();
  for (const l of lines) {
    const c = notes.get(runKey(l))?.commit ?? 'not recorded';
    count.set(c, (count.get(c) ?? 0) + 1);
  }
  return [...count].map(([c, n]) => `\`${c}\`: ${n} run${n === 1 ? '' : 's'}`);
}

function references(
  a: Analysis,
  lines: readonly ResultLine[],
  spec: Spec | null,
): Map<string, References> {
  const out = new Map<string, References>();
  if (!spec) return out;
  for (const s of a.settings) {
    const def = spec.settings[s];
    if (!def) continue;
    const seeds = [...new Set(lines.filter((l) => l.setting === s).map((l) => l.seed))].sort(
      (x, y) => x - y,
    );
    out.set(s, settingReferences(spec, def, seeds));
  }
  return out;
}
