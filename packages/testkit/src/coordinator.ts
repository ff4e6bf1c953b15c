// A real coordinator process for e2e tests and the demo: `pnpm coordinator` semantics (tsx
// apps/coordinator/src/server.ts), sites registered through the sites CLI code path.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@focus-fl/coordinator/cli';
import type { DashboardState } from '@focus-fl/coordinator/dashboard-state';
import { ROOT } from './paths.js';
import { waitUntil } from './wait.js';

export interface Coordinator {
  port: number;
  http: string;
  ws: string;
  dataDir: string;
  tokens: Record<string, string>;
  /** The operator's token (FOCUS_FL_ADMIN_TOKEN of the process). */
  adminToken: string;
  /** A read-only dashboard token issued by `focus-fl viewer-token`. */
  viewerToken: string;
  /**
   * The join link a site opens (the page served by this coordinator); the token rides in the
   * fragment (`#token=`), which no server sees or logs.
   */
  joinUrl(site: string, extra?: Record<string, string | number>): string;
  /** The dashboard's login link for the viewer token (fragment again): logs in, then redirects. */
  dashboardUrl(): string;
  /** GET /api/state as the operator, with `rounds` narrowed to the completed ones. */
  state(): Promise<DashboardState>;
  logs(): string;
  stop(): Promise<void>;
}

export type { DashboardState };

/** The operator token of coordinators started here (tests and the local demo only). */
const ADMIN_TOKEN = 'e2e-admin-token';

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
  const viewerOut: string[] = [];
  if (runCli(['viewer-token', '--data-dir', dataDir], (s) => viewerOut.push(s)) !== 0)
    throw new Error(`viewer-token failed: ${viewerOut.join('\n')}`);
  const viewerToken = viewerOut[0];
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
      env: { ...process.env, FOCUS_FL_ADMIN_TOKEN: ADMIN_TOKEN },
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
    adminToken: ADMIN_TOKEN,
    viewerToken,
    joinUrl(site, extra = {}) {
      const q = new URLSearchParams({ coordinator: ws });
      for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
      return `${http}/client/?${q}#${new URLSearchParams({ token: tokens[site] })}`;
    },
    dashboardUrl() {
      return `${http}/dashboard/login#${new URLSearchParams({ token: viewerToken })}`;
    },
    async state() {
      const r = await fetch(`${http}/api/state`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      if (!r.ok) throw new Error(`GET /api/state: ${r.status}`);
      const s = (await r.json()) as DashboardState;
      // Aborted attempts are stored too; callers ask about the rounds that completed.
      return { ...s, rounds: s.rounds.filter((x) => x.status === 'completed') };
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
