// The run process: errors come back as errors, a run past its timeout is killed and the next
// run gets a fresh process (not the dying one's exit).
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunExecutor } from '../src/executor.js';
import { expandRuns, loadSpec, type RunTask } from '../src/spec.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const micro = expandRuns(loadSpec(resolve(ROOT, 'experiments/micro.json')));
const broken: RunTask = {
  ...micro[0],
  key: 'broken',
  settingDef: { kind: 'clients', clients: [] },
};

const ex = new RunExecutor();
afterAll(() => ex.close());

describe('RunExecutor', () => {
  it('reports a run error; kills a run past its timeout; the next run gets a new process', async () => {
    await expect(ex.run(broken, 60_000)).rejects.toThrow(
      /invalid federation config: \/minClients must be >= 1/,
    );
    const first = ex.pid!;
    await expect(ex.run(micro[0], 10)).rejects.toThrow(/timed out after 10 ms \(process killed\)/);
    await expect(ex.run(broken, 60_000)).rejects.toThrow(
      /invalid federation config: \/minClients must be >= 1/,
    );
    expect(ex.pid).not.toBe(first);
    // the killed process is gone
    expect(() => process.kill(first, 0)).toThrow();
  }, 180_000);
});
