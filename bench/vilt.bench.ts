// The paper's smallest model, vilt-b32 (random init; the same geometry as dandelin/vilt-b32),
// in Node on the wasm backend: (1) resident bytes of tiny and vilt-b32 with frozen weights
// int8 in memory vs fp32, from the model's own count and from the RSS of a fresh process per
// mode; (2) one whole federated round, `pnpm simulate --preset vilt-b32 --clients 2 --rounds 1
// --steps 2 --batch-size 4 --strategy f3ocus`, in a child process: wall time and peak RSS
// (VmHWM, Linux). Minutes on a 2-core machine; not part of the test suite.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answerVocabulary } from '../packages/core/src/data/index.js';
import { createModel, saveModel } from '../packages/core/src/model/index.js';
import { initNodeBackend } from '../packages/core/src/node/index.js';
import { loadInChild } from './lib/load-child.js';
import type { BenchResult } from './types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;
const mib = (b: number) => Math.round((10 * b) / MiB) / 10;

/** Runs a command to completion, polling its VmHWM; resolves with wall time and peak RSS. */
function timed(args: string[]): Promise<{
  seconds: number;
  cpuSeconds: number;
  peakRss: number;
  stdout: string;
  code: number;
}> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakRss = 0;
    let cpuSeconds = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakRss = Math.max(peakRss, Number(m[1]) * 1024);
        // utime + stime (fields 14, 15 of /proc/PID/stat, clock ticks of 1/100 s): all threads.
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpuSeconds = (Number(f[11]) + Number(f[12])) / 100;
      } catch {
        /* exited */
      }
    }, 500);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      if (code !== 0) process.stderr.write(stderr.slice(-4000));
      resolve({
        seconds: (performance.now() - t0) / 1000,
        cpuSeconds,
        peakRss,
        stdout,
        code: code ?? -1,
      });
    });
  });
}

export async function run(): Promise<BenchResult> {
  await initNodeBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'focus-fl-vilt-'));
  const rows: Record<string, unknown>[] = [];
  const notes: string[] = [];
  for (const preset of ['tiny', 'vilt-b32'] as const) {
    const m = createModel(preset, { seed: 0, answers: answerVocabulary(), weights: 'int8' });
    const file = join(dir, `${preset}.safetensors`);
    writeFileSync(file, saveModel(m));
    m.dispose();
    const int8 = loadInChild(file, 'int8');
    const fp32 = loadInChild(file, 'fp32');
    rows.push({
      what: `${preset} weights`,
      int8MiB: mib(int8.residentBytes),
      fp32MiB: mib(fp32.residentBytes),
      ratio: +(int8.residentBytes / fp32.residentBytes).toFixed(3),
      rssLoadInt8MiB: mib(int8.rssAfterLoad),
      rssLoadFp32MiB: mib(fp32.rssAfterLoad),
      rssRatio: +(int8.rssAfterLoad / fp32.rssAfterLoad).toFixed(3),
      peakRssInt8MiB: mib(int8.peakRss),
      peakRssFp32MiB: mib(fp32.peakRss),
      forwardMsInt8: int8.forwardMs,
      forwardMsFp32: fp32.forwardMs,
      probedBlockMiB: mib(int8.probedBlockBytes),
      estimatedBlockMiB: mib(int8.estimatedBlockBytes),
      microBatchAllBlocks: int8.microBatchAllBlocks,
    });
  }
  // The acceptance command of the issue, exactly (the defaults a user gets: LNTK on 16
  // samples per site, every held-out sample evaluated). VILT_SIM_ARGS replaces the argument
  // list (e.g. a shorter run while developing).
  const args = process.env.VILT_SIM_ARGS?.split(' ') ?? [
    '--preset',
    'vilt-b32',
    '--clients',
    '2',
    '--rounds',
    '1',
    '--steps',
    '2',
    '--batch-size',
    '4',
    '--strategy',
    'f3ocus',
  ];
  const loadBefore = loadavg();
  const sim = await timed([
    '--import',
    'tsx',
    'apps/coordinator/src/simulate.ts',
    ...args,
    '--json',
  ]);
  const res =
    sim.code === 0
      ? (JSON.parse(sim.stdout.trim().split('\n').pop()!) as {
          rounds: { selection: Record<string, string[]> }[];
          final: { accuracy: number | null };
        })
      : undefined;
  rows.push({
    what: `simulate ${args.join(' ')}`,
    ok: sim.code === 0,
    wallSeconds: Math.round(sim.seconds),
    cpuSeconds: Math.round(sim.cpuSeconds),
    peakRssMiB: mib(sim.peakRss),
    loadAvgBefore: loadBefore.map((x) => +x.toFixed(1)).join(' '),
    loadAvgAfter: loadavg()
      .map((x) => +x.toFixed(1))
      .join(' '),
    selection: res ? JSON.stringify(res.rounds[0]?.selection) : null,
    accuracy: res?.final.accuracy ?? null,
  });
  const v = rows[1];
  notes.push(
    `vilt-b32 weights int8 in memory: ${String(v.int8MiB)} MiB vs ${String(v.fp32MiB)} MiB fp32 (ratio ${String(v.ratio)}; target <= 0.40); process RSS after load ratio ${String(v.rssRatio)}.`,
    `pnpm simulate ${args.join(' ')}: ${sim.code === 0 ? 'completed' : `FAILED (exit ${sim.code})`} in ${Math.round(sim.seconds)} s wall (${Math.round(sim.cpuSeconds)} CPU s), peak RSS ${mib(sim.peakRss)} MiB (both sites and the coordinator in one process); 1/5/15-min load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} after (a 2-core machine shared with other work).`,
    'Random-init weights (no checkpoint is downloaded here). Command: pnpm bench vilt.',
  );
  rmSync(dir, { recursive: true, force: true });
  return { name: 'vilt', rows, notes };
}
