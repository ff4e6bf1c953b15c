/**
 * `pnpm focus-fl sites add NAME --budget B [--data-dir DIR]`: registers a site and prints its
 * join token once (only its SHA-256 is stored). Also `sites list`, and `viewer-token`: a new
 * read-only dashboard token (replaces the previous one), printed once.
 */
import { parseArgs } from 'node:util';
import { IMPORT_VILT_USAGE, importVilt } from './import-vilt.js';
import { Store } from './store.js';

const USAGE = `usage:
  focus-fl sites add NAME --budget B [--data-dir DIR]   register a site, print its join token
  focus-fl sites list [--data-dir DIR]                  list sites
  focus-fl viewer-token [--data-dir DIR]                issue a read-only dashboard token
  ${IMPORT_VILT_USAGE}
                                                        a Hugging Face ViLT checkpoint -> int8 base`;

export function runCli(argv: string[], out: (s: string) => void = console.log): number {
  if (argv[0] === 'import-vilt') {
    const r = importVilt(argv.slice(1));
    const c = r.config;
    out(
      `${r.out}: ${(r.bytes / 1e6).toFixed(1)} MB int8 base, ${r.frozenParams} frozen params, ` +
        `hidden ${String(c.hidden)}, ${String(c.numLayers)} blocks, ${String(c.numHeads)} heads, ` +
        `${String(c.numAnswers)} answers; ${r.ignored.length} HF tensors not used` +
        (r.ignored.length
          ? ` (${r.ignored.slice(0, 5).join(', ')}${r.ignored.length > 5 ? ', ...' : ''})`
          : ''),
    );
    return 0;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      budget: { type: 'string' },
      'data-dir': { type: 'string', default: 'data' },
      help: { type: 'boolean', default: false },
    },
  });
  const [group, cmd, name] = positionals;
  if (group === 'viewer-token' && !values.help) {
    const store = new Store(values['data-dir']!);
    try {
      out(store.issueViewerToken());
      return 0;
    } finally {
      store.close();
    }
  }
  if (values.help || group !== 'sites' || !cmd) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  const store = new Store(values['data-dir']!);
  try {
    if (cmd === 'add') {
      if (!name) throw new Error('sites add: NAME is required');
      if (values.budget === undefined) throw new Error('sites add: --budget B is required');
      const budget = Number(values.budget);
      if (!Number.isInteger(budget) || budget < 0) {
        throw new Error(`--budget must be a non-negative integer, got "${values.budget}"`);
      }
      out(store.addSite(name, budget));
      return 0;
    }
    if (cmd === 'list') {
      for (const s of store.listSites()) {
        out(
          `${s.name}\tbudget=${s.budget}\tlast_seen=${s.lastSeen ? new Date(s.lastSeen).toISOString() : '-'}\tbackend=${s.backend ?? '-'}`,
        );
      }
      return 0;
    }
    throw new Error(`unknown command "sites ${cmd}"\n${USAGE}`);
  } finally {
    store.close();
  }
}

if (process.argv[1]?.endsWith('cli.ts')) {
  try {
    process.exitCode = runCli(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}
