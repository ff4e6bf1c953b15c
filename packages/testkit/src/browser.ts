// Launching Debian's Chromium through playwright-core (never `playwright install`), with the
// flags for this headless machine: software WebGL on lavapipe, and SwiftShader WebGPU on request.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.FOCUS_CHROMIUM ?? '/usr/bin/chromium';
const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json';

const BASE_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Hidden/background tabs must keep their timers and workers at full speed: several site
  // tabs train at once in one headless browser.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

// WebGPU on SwiftShader (the CPU fallback adapter). tfjs-backend-webgpu's synchronous reads
// (dataSync, used by core) copy through a WebGPU canvas; that needs shared images, which this
// headless Chromium only has with Vulkan on SwiftShader (measured: without these flags the
// first dataSync loses the device: "A valid external Instance reference no longer exists").
const WEBGPU_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/** A fresh headless Chromium (its own temporary profile). */
export async function launch(opts: { webgpu?: boolean; args?: string[] } = {}): Promise<Browser> {
  if (!chromiumAvailable()) {
    throw new Error(`no Chromium at ${CHROMIUM}: run scripts/setup.sh (apt-get install chromium)`);
  }
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (existsSync(LAVAPIPE)) {
    env.VK_ICD_FILENAMES = LAVAPIPE;
    env.VK_DRIVER_FILES = LAVAPIPE;
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_ARGS, ...(opts.webgpu ? WEBGPU_ARGS : []), ...(opts.args ?? [])],
    env,
  });
}

/** Forwards the page's console errors and crashes to the test log (prefixed by `name`). */
export function watch(page: Page, name: string): void {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      console.log(`[${name}] ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[${name}] pageerror: ${e.message}`));
  page.on('crash', () => console.log(`[${name}] crashed`));
}

/** A new isolated context (own IndexedDB, caches, localStorage): one per site. */
export async function siteContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1100, height: 900 } });
}
export type { Browser, BrowserContext, Page } from 'playwright-core';
