// Dashboard page (read-only view of the federation), served by the coordinator at /dashboard/.
// Built by `pnpm --filter @focus-fl/coordinator build` into dashboard/dist.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/dashboard/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: {
    // `vite --config dashboard/vite.config.ts` during development: proxy the API to a local
    // coordinator (default port 8080; FOCUS_COORDINATOR overrides).
    proxy: {
      '/api': {
        target: process.env.FOCUS_COORDINATOR ?? 'http://127.0.0.1:8080',
        ws: true,
      },
    },
  },
});
