// One suite's fixture for the tests that need only the built site page (no coordinator): a
// static server with the tiny base and one Chromium, started before the suite's tests and
// closed after them. The WebGPU, wasm-kernel, int8-kernel and import suites share it.
import { afterAll, beforeAll } from 'vitest';
import type { Browser } from 'playwright-core';
import { launch } from '@focus-fl/testkit/browser';
import { tinyCheckpoint } from '@focus-fl/testkit/model';
import { serveClient, type StaticServer } from '@focus-fl/testkit/static';

export interface PageSuite {
  /** The static server's origin, e.g. http://127.0.0.1:PORT (set once the suite has started). */
  readonly origin: string;
  readonly browser: Browser;
}

/** Registers the suite's beforeAll/afterAll; read the fields inside tests only. */
export function usePageSuite(launchOptions: Parameters<typeof launch>[0] = {}): PageSuite {
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    server = await serveClient(tinyCheckpoint());
    browser = await launch(launchOptions);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  const started = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`page suite: ${what} read before the suite started`);
    return v;
  };
  return {
    get origin() {
      return started(server, 'origin').origin;
    },
    get browser() {
      return started(browser, 'browser');
    },
  };
}
