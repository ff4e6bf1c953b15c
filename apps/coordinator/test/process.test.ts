import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../src/store.js';
import { tsWorker } from '../src/tsx-worker.js';
import { tmpDir } from './fakes.js';

// The real process entry (pnpm coordinator), killed with SIGKILL between rounds and restarted
// on the same data dir. Sites are fake (precomputed tiny-model-shaped updates) so the test
// measures the coordinator, not tfjs.
const root = new URL('../../../', import.meta.url).pathname;
/** The operator's token (FOCUS_FL_ADMIN_TOKEN below): /api/state needs it. */
const ADMIN = { headers: { authorization: 'Bearer adm' } };
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children.length = 0;
});

function startServer(dataDir: string, port: number): ChildProcess {
  const c = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'apps/coordinator/src/server.ts',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--config',
      join(dataDir, 'cfg.json'),
      '--log-level',
      'warn',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, FOCUS_FL_ADMIN_TOKEN: 'adm' },
    },
  );
  children.push(c);
  return c;
}

async function health(port: number, timeoutMs = 60_000): Promise<{ round: number; phase: string }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) return (await r.json()) as { round: number; phase: string };
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error('coordinator did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function shapes(
  port: number,
): Promise<{ shapes: Record<string, number[]>; layers: string[] }> {
  const st = (await (await fetch(`http://127.0.0.1:${port}/api/state`, ADMIN)).json()) as {
    layers: string[];
  };
  const shapesOut: Record<string, number[]> = {};
  // global param shapes, read from the served base checkpoint
  const { readCheckpoint } = await import('@focus-fl/core/model');
  const bytes = new Uint8Array(
    await (await fetch(`http://127.0.0.1:${port}/model/base.safetensors`)).arrayBuffer(),
  );
  const ck = readCheckpoint(bytes);
  for (const [k, v] of Object.entries(ck.params)) {
    const l = k.split('/')[0];
    if (l === 'head' || st.layers.includes(l)) shapesOut[k] = v.shape;
  }
  return { shapes: shapesOut, layers: st.layers };
}

function runFakeSites(
  port: number,
  tokens: string[],
  s: { shapes: Record<string, number[]>; layers: string[] },
) {
  const w = tsWorker(new URL('../../../packages/testkit/src/load-clients.ts', import.meta.url), {
    url: `ws://127.0.0.1:${port}/ws`,
    tokens,
    shapes: s.shapes,
    layers: s.layers,
    codec: 'fp16',
    seed: 3,
  });
  const done = new Promise<void>((resolve) =>
    w.on('message', (m: { type: string }) => m.type === 'done' && resolve()),
  );
  return { w, done };
}

describe('coordinator process', () => {
  it('SIGKILL between rounds, restart: resumes at the next round from the stored weights', async () => {
    const dataDir = tmpDir();
    writeFileSync(
      join(dataDir, 'cfg.json'),
      JSON.stringify({
        strategy: 'lntk',
        rounds: 3,
        minClients: 2,
        quorumGraceMs: 100,
        codec: 'fp16',
      }),
    );
    const store = new Store(dataDir);
    const tokens = ['a', 'b'].map((n) => store.addSite(n, 2));
    store.close();
    const port = 20000 + Math.floor(Math.random() * 20000);

    const first = startServer(dataDir, port);
    await health(port);
    const s = await shapes(port);
    const sites1 = runFakeSites(port, tokens, s);
    // wait until round 1 is evaluated, then kill -9
    for (;;) {
      const st = (await (await fetch(`http://127.0.0.1:${port}/api/state`, ADMIN)).json()) as {
        rounds: { round: number; accuracy: number | null }[];
      };
      if (st.rounds.some((r) => r.round === 1 && r.accuracy !== null)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await sites1.done;
    await sites1.w.terminate();

    const after = new Store(dataDir);
    const v = after.latestCheckpoint()!.version;
    expect(v).toBeGreaterThanOrEqual(1);
    const stored = after.checkpoint(v)!;
    after.close();

    startServer(dataDir, port);
    const h = await health(port);
    expect(h.round).toBe(v + 1);
    const sites2 = runFakeSites(port, tokens, s);
    await sites2.done;
    await sites2.w.terminate();
    const st = (await (await fetch(`http://127.0.0.1:${port}/api/state`, ADMIN)).json()) as {
      phase: string;
      rounds: { round: number }[];
    };
    expect(st.phase).toBe('done');
    expect(st.rounds.map((r) => r.round)).toEqual([0, 1, 2, 3]);
    // the checkpoint the restart resumed from is untouched, bit for bit
    const final = new Store(dataDir);
    const again = final.checkpoint(v)!;
    for (const [k, t] of Object.entries(stored)) {
      expect(Buffer.from(again[k].data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    }
    final.close();
  }, 180_000);
});
