/**
 * From result lines to the numbers of the report: per (setting, strategy) groups over seeds,
 * final accuracy mean and spread, paired F3OCUS - X differences, uplink per round, layer-
 * selection frequencies and cost per round. Pure and ordered (spec order, else sorted), so a
 * report regenerated from the same results.jsonl is byte-identical.
 */
import type { ResultLine } from '../results.js';
import { mean, pairedInterval, sd, type PairedInterval } from './stats.js';

export interface GroupStats {
  setting: string;
  /** `strategy`, or `strategy:algo` for f3ocus. */
  label: string;
  seeds: number[];
  /** seed -> final accuracy. */
  finalBySeed: Map<number, number>;
  finalMean: number;
  finalSd: number;
  /** Per round (1-based index into rounds): mean and sd of the accuracy over seeds. */
  byRound: { round: number; mean: number; sd: number; min: number; max: number; n: number }[];
  /** Uplink per round, all sites together (MBit), mean over rounds and seeds. */
  upMbitPerRound: number;
  upMbitPerSiteRound: number;
  downMbitPerRound: number;
  /** Mean over rounds, seeds and sites of (numLayers - earliest selected block). */
  backwardDepth: number | null;
  /** Mean per-site local training ms per round. */
  trainMs: number | null;
  /** round -> layer -> fraction of (seed, site) selections holding that layer. */
  selection: { round: number; layer: string; fraction: number }[];
  layers: string[];
}

export interface Analysis {
  settings: string[];
  labels: string[];
  groups: Map<string, GroupStats>;
  /** The F3OCUS label the paired differences are taken from (null: no f3ocus runs). */
  reference: string | null;
  paired: Map<string, PairedInterval>;
}

export const labelOfLine = (l: ResultLine) => (l.algo ? `${l.strategy}:${l.algo}` : l.strategy);
export const groupKey = (setting: string, label: string) => `${setting}\u0000${label}`;

const BLOCK = /^block(\d+)\./;

function blockIndex(layer: string): number | null {
  const m = BLOCK.exec(layer);
  return m ? Number(m[1]) : null;
}

/** Layers in forward order (block index, then name). */
export function sortLayers(layers: Iterable<string>): string[] {
  return [...new Set(layers)].sort((a, b) => {
    const ia = blockIndex(a) ?? Infinity;
    const ib = blockIndex(b) ?? Infinity;
    return ia - ib || (a < b ? -1 : a > b ? 1 : 0);
  });
}

function orderBy<T>(items: Iterable<T>, preferred: readonly T[]): T[] {
  const set = new Set(items);
  const first = preferred.filter((x) => set.has(x));
  const rest = [...set].filter((x) => !first.includes(x)).sort();
  return [...first, ...rest];
}

export interface AnalyseOptions {
  /** Order of settings and strategy labels (from the spec); others follow sorted. */
  settingOrder?: readonly string[];
  labelOrder?: readonly string[];
  /** Number of model blocks (backward depth = numLayers - earliest selected block). */
  numLayers?: number;
}

export function analyse(lines: readonly ResultLine[], o: AnalyseOptions = {}): Analysis {
  const settings = orderBy(
    lines.map((l) => l.setting),
    o.settingOrder ?? [],
  );
  const labels = orderBy(lines.map(labelOfLine), o.labelOrder ?? []);
  const allLayers = sortLayers(
    lines.flatMap((l) => l.rounds.flatMap((r) => Object.values(r.selection).flat())),
  );
  const numLayers = o.numLayers ?? 1 + Math.max(-1, ...allLayers.map((l) => blockIndex(l) ?? -1));
  const groups = new Map<string, GroupStats>();
  for (const setting of settings) {
    for (const label of labels) {
      const ls = lines
        .filter((l) => l.setting === setting && labelOfLine(l) === label)
        .sort((a, b) => a.seed - b.seed);
      if (ls.length > 0)
        groups.set(groupKey(setting, label), groupStats(setting, label, ls, numLayers));
    }
  }
  const reference =
    labels.find((l) => l === 'f3ocus:nsga2') ?? labels.find((l) => l.startsWith('f3ocus:')) ?? null;
  const paired = new Map<string, PairedInterval>();
  if (reference) {
    for (const setting of settings) {
      const ref = groups.get(groupKey(setting, reference));
      if (!ref) continue;
      for (const label of labels) {
        const g = groups.get(groupKey(setting, label));
        if (!g || label === reference) continue;
        paired.set(groupKey(setting, label), pairedInterval(ref.finalBySeed, g.finalBySeed));
      }
    }
  }
  return { settings, labels, groups, reference, paired };
}

function groupStats(
  setting: string,
  label: string,
  ls: readonly ResultLine[],
  numLayers: number,
): GroupStats {
  const finalBySeed = new Map<number, number>();
  for (const l of ls) if (l.final.accuracy != null) finalBySeed.set(l.seed, l.final.accuracy);
  const finals = [...finalBySeed.values()];
  const maxRounds = Math.max(...ls.map((l) => l.rounds.length));
  const byRound = [];
  for (let i = 0; i < maxRounds; i++) {
    const accs = ls
      .map((l) => l.rounds[i]?.accuracy)
      .filter((x): x is number => typeof x === 'number');
    if (accs.length === 0) continue;
    byRound.push({
      round: ls.find((l) => l.rounds[i])!.rounds[i].round,
      mean: mean(accs),
      sd: sd(accs),
      min: Math.min(...accs),
      max: Math.max(...accs),
      n: accs.length,
    });
  }
  const rounds = ls.flatMap((l) => l.rounds);
  const sites = rounds.map((r) => Math.max(1, Object.keys(r.selection).length));
  const up = rounds.map((r) => (r.bytesUp * 8) / 1e6);
  const depths: number[] = [];
  const counts = new Map<string, number>();
  const perRoundTotal = new Map<number, number>();
  const layersSeen = new Set<string>();
  for (const r of rounds) {
    for (const sel of Object.values(r.selection)) {
      perRoundTotal.set(r.round, (perRoundTotal.get(r.round) ?? 0) + 1);
      const idx = sel.map(blockIndex).filter((x): x is number => x !== null);
      if (idx.length > 0) depths.push(numLayers - Math.min(...idx));
      for (const layer of sel) {
        layersSeen.add(layer);
        const k = `${r.round}\u0000${layer}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
  }
  const layers = sortLayers(layersSeen);
  const selection = [...perRoundTotal.keys()]
    .sort((a, b) => a - b)
    .flatMap((round) =>
      layers.map((layer) => ({
        round,
        layer,
        fraction: (counts.get(`${round}\u0000${layer}`) ?? 0) / perRoundTotal.get(round)!,
      })),
    );
  const trainMs = rounds.map((r) => r.trainMs).filter((x): x is number => typeof x === 'number');
  return {
    setting,
    label,
    seeds: ls.map((l) => l.seed),
    finalBySeed,
    finalMean: finals.length ? mean(finals) : NaN,
    finalSd: sd(finals),
    byRound,
    upMbitPerRound: mean(up),
    upMbitPerSiteRound: mean(up.map((u, i) => u / sites[i])),
    downMbitPerRound: mean(rounds.map((r) => (r.bytesDown * 8) / 1e6)),
    backwardDepth: depths.length ? mean(depths) : null,
    trainMs: trainMs.length ? mean(trainMs) : null,
    selection,
    layers,
  };
}
