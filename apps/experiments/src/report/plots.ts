/**
 * The report's figures as Vega-Lite specs, rendered to SVG in Node by Vega (no canvas: the SVG
 * renderer estimates text widths). One figure of each kind per setting.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { groupKey, sortLayers, type Analysis } from './analyse.js';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return renumberIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Vega numbers gradient and clip ids with process-wide counters, so the same figure rendered
 * after others gets other ids; renumber them per file (in order of appearance) so that output
 * depends only on the data.
 */
export function renumberIds(svg: string): string {
  const maps = new Map<string, Map<string, number>>();
  return svg.replace(/\b(gradient_|clip|pattern_)(\d+)\b/g, (_, prefix: string, n: string) => {
    let m = maps.get(prefix);
    if (!m) maps.set(prefix, (m = new Map()));
    if (!m.has(n)) m.set(n, m.size);
    return `${prefix}${m.get(n)}`;
  });
}

const color = (labels: string[]) => ({
  field: 'strategy',
  type: 'nominal' as const,
  scale: { domain: labels, scheme: 'tableau20' },
  title: 'strategy',
});

const pct = (x: number) => Math.round(1e4 * x) / 100;
const round3 = (x: number) => Math.round(1e3 * x) / 1e3;

function labelsIn(a: Analysis, setting: string): string[] {
  return a.labels.filter((l) => a.groups.has(groupKey(setting, l)));
}

/** Global held-out accuracy after each round: mean over seeds, band = min..max over seeds. */
export function accuracyByRound(a: Analysis, setting: string): TopLevelSpec {
  const labels = labelsIn(a, setting);
  const values = labels.flatMap((label) =>
    a.groups.get(groupKey(setting, label))!.byRound.map((r) => ({
      strategy: label,
      round: r.round,
      mean: pct(r.mean),
      lo: pct(r.min),
      hi: pct(r.max),
    })),
  );
  const x = {
    field: 'round',
    type: 'quantitative' as const,
    axis: { tickMinStep: 1 },
    title: 'round',
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${setting}: accuracy by round (mean over seeds; band = seed min..max)`,
    width: 420,
    height: 260,
    data: { values },
    layer: [
      {
        mark: { type: 'area', opacity: 0.12 },
        encoding: {
          x,
          y: { field: 'lo', type: 'quantitative' },
          y2: { field: 'hi' },
          color: color(labels),
        },
      },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: {
            field: 'mean',
            type: 'quantitative',
            title: 'held-out accuracy (%)',
            scale: { zero: false },
          },
          color: color(labels),
        },
      },
    ],
  };
}

/** F3OCUS - X final accuracy per seed pair: mean and 95 % t-interval, percentage points. */
export function pairedDifferences(a: Analysis, setting: string): TopLevelSpec {
  const values = labelsIn(a, setting)
    .map((label) => ({ label, p: a.paired.get(groupKey(setting, label)) }))
    .filter((x) => x.p && x.p.lo !== null)
    .map(({ label, p }) => ({
      strategy: label,
      mean: pct(p!.mean),
      lo: pct(p!.lo!),
      hi: pct(p!.hi!),
    }));
  const y = { field: 'strategy', type: 'nominal' as const, sort: null, title: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${setting}: ${a.reference} - X, final accuracy (points; 95 % t-interval over seeds)`,
    width: 380,
    height: { step: 18 },
    data: { values },
    layer: [
      {
        mark: 'rule',
        encoding: {
          y,
          x: { field: 'lo', type: 'quantitative', title: 'difference (points)' },
          x2: { field: 'hi' },
        },
      },
      {
        mark: { type: 'point', filled: true },
        encoding: { y, x: { field: 'mean', type: 'quantitative' } },
      },
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: 'gray' },
        encoding: { x: { field: 'zero', type: 'quantitative' } },
      },
    ],
  };
}

/** Final accuracy vs uplink MBit per round (the Table 2 trade-off). */
export function accuracyVsUplink(a: Analysis, setting: string): TopLevelSpec {
  const labels = labelsIn(a, setting);
  const values = labels.map((label) => {
    const g = a.groups.get(groupKey(setting, label))!;
    return {
      strategy: label,
      mbit: round3(g.upMbitPerRound),
      acc: pct(g.finalMean),
      lo: pct(g.finalMean - g.finalSd),
      hi: pct(g.finalMean + g.finalSd),
    };
  });
  const x = {
    field: 'mbit',
    type: 'quantitative' as const,
    title: 'uplink MBit per round (all sites)',
    // Log scale: the families span orders of magnitude (the paper's Table 2: 3.5 to 3915 MBit).
    scale: values.every((v) => v.mbit > 0) ? { type: 'log' as const } : { zero: false },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${setting}: final accuracy (mean +- sd over seeds) vs uplink`,
    width: 420,
    height: 260,
    data: { values },
    layer: [
      {
        mark: 'rule',
        encoding: {
          x,
          y: { field: 'lo', type: 'quantitative' },
          y2: { field: 'hi' },
          color: color(labels),
        },
      },
      {
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x,
          y: {
            field: 'acc',
            type: 'quantitative',
            title: 'final accuracy (%)',
            scale: { zero: false },
          },
          color: color(labels),
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 6, fontSize: 9 },
        encoding: { x, y: { field: 'acc', type: 'quantitative' }, text: { field: 'strategy' } },
      },
    ],
  };
}

/** Fig. 5 analogue: share of (seed, site) selections holding each layer, per round. */
export function selectionHeatmap(a: Analysis, setting: string): TopLevelSpec {
  const labels = labelsIn(a, setting);
  const layers = sortLayers(labels.flatMap((l) => a.groups.get(groupKey(setting, l))!.layers));
  const values = labels.flatMap((label) =>
    a.groups.get(groupKey(setting, label))!.selection.map((s) => ({
      strategy: label,
      round: s.round,
      layer: s.layer.replace(/\.(adapter|lora)$/, ''),
      fraction: round3(s.fraction),
    })),
  );
  const short = layers.map((l) => l.replace(/\.(adapter|lora)$/, ''));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${setting}: layer selection across rounds (share of sites x seeds)`,
    data: { values },
    facet: { field: 'strategy', type: 'nominal', sort: labels, title: null },
    columns: 4,
    spec: {
      width: 150,
      height: { step: 12 },
      mark: 'rect',
      encoding: {
        x: { field: 'layer', type: 'ordinal', sort: short, title: null },
        y: { field: 'round', type: 'ordinal', title: 'round' },
        color: {
          field: 'fraction',
          type: 'quantitative',
          scale: { domain: [0, 1], scheme: 'blues' },
          title: 'share',
        },
      },
    },
  };
}

/** Cost per round: backward depth (blocks back-propagated through) and local training ms. */
export function costPerRound(a: Analysis, setting: string): TopLevelSpec {
  const labels = labelsIn(a, setting);
  const values = labels.map((label) => {
    const g = a.groups.get(groupKey(setting, label))!;
    return {
      strategy: label,
      depth: g.backwardDepth === null ? null : round3(g.backwardDepth),
      ms: g.trainMs === null ? null : Math.round(g.trainMs),
    };
  });
  const y = { field: 'strategy', type: 'nominal' as const, sort: labels, title: null };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${setting}: cost per round (mean over sites, rounds, seeds)`,
    data: { values },
    hconcat: [
      {
        width: 200,
        height: { step: 16 },
        mark: 'bar',
        encoding: {
          y,
          x: { field: 'depth', type: 'quantitative', title: 'backward depth (blocks)' },
          color: color(labels),
        },
      },
      {
        width: 200,
        height: { step: 16 },
        mark: 'bar',
        encoding: {
          y: { ...y, axis: null },
          x: { field: 'ms', type: 'quantitative', title: 'local training ms per site' },
          color: color(labels),
        },
      },
    ],
  };
}
