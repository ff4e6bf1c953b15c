// `pnpm bench [name-filter]`: runs every bench/*.bench.ts, writes bench/results/<name>.json
// and prints a table per benchmark. Each module exports `run(): Promise<BenchResult>`.
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];

async function main(): Promise<void> {
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !filter || f.includes(filter))
    .sort();
  mkdirSync(join(here, 'results'), { recursive: true });
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as {
      run: () => Promise<BenchResult>;
    };
    console.log(`\n## ${f}`);
    const started = Date.now();
    const result = await mod.run();
    const out = { ...result, machine: machineInfo(), date: new Date().toISOString() };
    writeFileSync(
      join(here, 'results', `${result.name}.json`),
      JSON.stringify(out, null, 2) + '\n',
    );
    console.table(result.rows);
    if (result.notes) for (const n of result.notes) console.log(`- ${n}`);
    console.log(`(${result.name}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

function machineInfo(): Record<string, unknown> {
  return { node: process.version, platform: process.platform, arch: process.arch };
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
