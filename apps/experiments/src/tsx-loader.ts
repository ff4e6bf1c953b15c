// The tsx ESM loader as a file URL, for `node --import <it>` in the processes this package
// starts (run processes, local workers): TypeScript sources run as they are, from any cwd.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
