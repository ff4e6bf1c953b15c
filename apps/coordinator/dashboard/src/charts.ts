// uPlot line/point charts for accuracy, loss, bytes and the Pareto front. Rounds are plain
// numbers, so every chart sets scales.x.time = false (uPlot assumes unix time otherwise).
import uPlot from 'uplot';
import type { DashboardState } from './state.js';

const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#ca8a04',
  '#db2777',
  '#4b5563',
  '#65a30d',
];

interface ChartSpec {
  series: uPlot.Series[];
  data: uPlot.AlignedData;
  xLabel: string;
  yLabel: string;
  yRange?: [number, number];
}

/** Keeps one uPlot per host; rebuilds it when the series set changes, else just sets data. */
export class Chart {
  private plot: uPlot | null = null;
  private key = '';

  constructor(private readonly host: HTMLElement) {}

  update(spec: ChartSpec): void {
    const key = spec.series.map((s) => s.label ?? '').join('|');
    if (this.plot && key === this.key) {
      this.plot.setData(spec.data);
      return;
    }
    this.plot?.destroy();
    this.key = key;
    const width = Math.max(320, this.host.clientWidth || 460);
    const opts: uPlot.Options = {
      width,
      height: 220,
      scales: {
        x: { time: false },
        y: spec.yRange ? { range: spec.yRange } : {},
      },
      axes: [
        // Rounds are integers: no 0.5 ticks (the Pareto chart's x is continuous).
        spec.xLabel === 'round'
          ? { label: spec.xLabel, incrs: [1, 2, 5, 10, 20, 50] }
          : { label: spec.xLabel },
        { label: spec.yLabel },
      ],
      series: [{ label: spec.xLabel }, ...spec.series],
      legend: { live: false },
    };
    this.plot = new uPlot(opts, spec.data, this.host);
  }
}

function nullable(xs: (number | null)[]): (number | null)[] {
  return xs.map((x) => (x === null ? null : x));
}

export function accuracySpec(state: DashboardState): ChartSpec {
  const xs = state.rounds.map((r) => r.round);
  const clients = [...new Set(state.rounds.flatMap((r) => Object.keys(r.perClient)))].sort();
  const series: uPlot.Series[] = [
    { label: 'global', stroke: '#111827', width: 3, points: { show: true } },
    ...clients.map((c, i): uPlot.Series => ({
      label: c,
      stroke: PALETTE[i % PALETTE.length],
      width: 1.5,
      dash: [4, 3],
    })),
  ];
  const data: (number | null)[][] = [
    nullable(state.rounds.map((r) => r.accuracy)),
    ...clients.map((c) => state.rounds.map((r) => r.perClient[c] ?? null)),
  ];
  return {
    series,
    data: [xs, ...data] as uPlot.AlignedData,
    xLabel: 'round',
    yLabel: 'accuracy',
    yRange: [0, 1],
  };
}

export function lossSpec(state: DashboardState): ChartSpec {
  return {
    series: [{ label: 'global loss', stroke: '#dc2626', width: 2, points: { show: true } }],
    data: [state.rounds.map((r) => r.round), state.rounds.map((r) => r.loss)] as uPlot.AlignedData,
    xLabel: 'round',
    yLabel: 'loss',
  };
}

export function bytesSpec(state: DashboardState): ChartSpec {
  const kib = (b: number): number => b / 1024;
  return {
    series: [
      { label: 'up (KiB)', stroke: '#16a34a', width: 2, points: { show: true } },
      { label: 'down (KiB)', stroke: '#2563eb', width: 2, points: { show: true } },
    ],
    data: [
      state.rounds.map((r) => r.round),
      state.rounds.map((r) => kib(r.bytesUp)),
      state.rounds.map((r) => kib(r.bytesDown)),
    ] as uPlot.AlignedData,
    xLabel: 'round',
    yLabel: 'KiB',
  };
}

/**
 * Last round's Pareto front: x = diversity penalty V (minimised), y = importance I (maximised);
 * the picked point is a second series. Points are sorted by x as uPlot's aligned data needs.
 */
export function frontSpec(state: DashboardState): ChartSpec | null {
  const last = [...state.rounds].reverse().find((r) => r.front.length > 0);
  if (!last) return null;
  const pts = last.front.map((p, i) => ({ ...p, picked: i === last.selected }));
  pts.sort((a, b) => a.variance - b.variance);
  return {
    series: [
      {
        label: `front (round ${last.round})`,
        stroke: '#2563eb',
        width: 0,
        points: { show: true, size: 7, fill: '#93c5fd' },
      },
      {
        label: 'picked',
        stroke: '#dc2626',
        width: 0,
        points: { show: true, size: 13, fill: '#dc2626' },
      },
    ],
    data: [
      pts.map((p) => p.variance),
      pts.map((p) => p.importance),
      pts.map((p) => (p.picked ? p.importance : null)),
    ] as uPlot.AlignedData,
    xLabel: 'diversity penalty V',
    yLabel: 'importance I',
  };
}
