/**
 * Process entry: `pnpm coordinator --port N --data-dir DIR [--config FILE] [--host H]`.
 * Config: defaults < --config FILE < flags (--preset, --rounds, --strategy, --algo, --seed). The admin
 * token comes from FOCUS_FL_ADMIN_TOKEN, or is generated on the first start and printed once.
 * SIGINT/SIGTERM close gracefully (sockets, engine, SQLite); a second signal exits at once.
 */
import { parseArgs } from 'node:util';
import { buildApp } from './app.js';
import { loadConfigFile, resolveConfig, type FederationConfig } from './config.js';
import { modelSourceFromConfig } from './model-source.js';
import { initNodeBackend } from '@focus-fl/core/node';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '0.0.0.0' },
      'data-dir': { type: 'string', default: 'data' },
      config: { type: 'string' },
      preset: { type: 'string' },
      rounds: { type: 'string' },
      strategy: { type: 'string' },
      algo: { type: 'string' },
      seed: { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer 0..65535, got "${values.port}"`);
  }
  const flags: Partial<FederationConfig> = {};
  if (values.preset) flags.preset = values.preset;
  if (values.rounds) flags.rounds = Number(values.rounds);
  if (values.strategy) flags.strategy = values.strategy as FederationConfig['strategy'];
  if (values.algo) flags.algo = values.algo as FederationConfig['algo'];
  if (values.seed) flags.seed = Number(values.seed);
  const config = resolveConfig(values.config ? loadConfigFile(values.config) : {}, flags);
  // The coordinator only loads and re-serialises the base (never trains); any backend will do.
  await initNodeBackend('wasm');
  const app = await buildApp({
    config,
    dataDir: values['data-dir']!,
    model: modelSourceFromConfig(config),
    adminToken: process.env.FOCUS_FL_ADMIN_TOKEN,
    logger: { level: values['log-level'] },
  });
  if (app.newAdminToken) {
    console.log(`admin token (shown once, stored hashed): ${app.newAdminToken}`);
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    app.log.info({ signal }, 'closing');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (e: unknown) => {
        app.log.error({ err: e }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await app.listen({ port, host: values.host });
  app.engine.on('done', () => app.log.info('federation finished; still serving the dashboard'));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
