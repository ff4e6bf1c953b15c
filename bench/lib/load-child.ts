// A fresh Node process that loads a checkpoint with int8 or fp32 weights (bench/vilt-child.ts)
// and reports its memory: used by bench/vilt.bench.ts and bench/memory.bench.ts.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ChildOut {
  weights: string;
  residentBytes: number;
  rssAfterLoad: number;
  peakRss: number;
  forwardMs: number;
  estimatedBlockBytes: number;
  probedBlockBytes: number;
  microBatchAllBlocks: number;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

export function loadInChild(file: string, weights: 'int8' | 'fp32'): ChildOut {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(root, 'bench/vilt-child.ts'), file, weights],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as ChildOut;
}
