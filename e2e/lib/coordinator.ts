// A real coordinator process for e2e tests and the demo: `pnpm coordinator` semantics (tsx
// apps/coordinator/src/server.ts), sites registered through the sites CLI code path.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../apps/coordinator/src/cli.js';
import type { DashboardState } from '../../apps/coordinator/src/state.js';
import { ROOT } from './paths.js';
import { waitUntil } from './wait.js';

export interface Coordinator {
  port: number;
  http: string;
  ws: string;
  dataDir: string;
  tokens: Record<string, string>;
  /** The join link a site opens (the page served by this coordinator). */
  joinUrl(site: string, extra?: Record<string, string | number>): string;
  state(): Promise<DashboardState>;
  logs(): string;
  stop(): Promise<void>;
}

export type { DashboardState };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Registers sites (name -> budget), then starts the coordinator with `config`. */
export async function startCoordinator(opts: {
  sites: Record<string, number>;
  config: Record<string, unknown>;
  port?: number;
  /** Listen address (default 127.0.0.1; the demo may open it to the LAN with 0.0.0.0). */
  host?: string;
  dataDir?: string;
  quiet?: boolean;
}): Promise<Coordinator> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'focus-fl-e2e-'));
  const tokens: Record<string, string> = {};
  for (const [name, budget] of Object.entries(opts.sites)) {
    const out: string[] = [];
    const rc = runCli(
      ['sites', 'add', name, '--budget', String(budget), '--data-dir', dataDir],
      (s) => out.push(s),
    );
    if (rc !== 0) throw new Error(`sites add ${name} failed: ${out.join('\n')}`);
    const token = out.join('\n').match(/[A-Za-z0-9_-]{20,}/)?.[0];
    if (!token) throw new Error(`sites add ${name} printed no token: ${out.join('\n')}`);
    tokens[name] = token;
  }
  const configFile = join(dataDir, 'federation.json');
  writeFileSync(configFile, JSON.stringify(opts.config, null, 2));
  const port = opts.port || (await freePort()); // 0: any free port
  let log = '';
  const child: ChildProcess = spawn(
    join(ROOT, 'node_modules/.bin/tsx'),
    [
      join(ROOT, 'apps/coordinator/src/server.ts'),
      '--port',
      String(port),
      '--host',
      opts.host ?? '127.0.0.1',
      '--data-dir',
      dataDir,
      '--config',
      configFile,
      '--log-level',
      'warn',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, FOCUS_FL_ADMIN_TOKEN: 'e2e-admin-token' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const onData = (d: Buffer): void => {
    log += d.toString();
    if (!opts.quiet) process.stdout.write(`[coordinator] ${d.toString()}`);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  const http = `http://127.0.0.1:${port}`;
  await waitUntil(
    'the coordinator to answer /healthz',
    async () => {
      if (exited !== null)
        throw new Error(`coordinator exited with ${exited}: ${log.slice(-2000)}`);
      return (await fetch(`${http}/healthz`)).ok;
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );
  const ws = `ws://127.0.0.1:${port}/ws`;
  return {
    port,
    http,
    ws,
    dataDir,
    tokens,
    joinUrl(site, extra = {}) {
      const q = new URLSearchParams({ coordinator: ws, token: tokens[site] });
      for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
      return `${http}/client/?${q}`;
    },
    async state() {
      const r = await fetch(`${http}/api/state`);
      if (!r.ok) throw new Error(`GET /api/state: ${r.status}`);
      return (await r.json()) as DashboardState;
    },
    logs: () => log,
    async stop() {
      if (exited !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 8000))]);
      if (exited === null) child.kill('SIGKILL');
    },
  };
}
