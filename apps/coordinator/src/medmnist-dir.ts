/**
 * Real MedMNIST files for `pnpm simulate --medmnist-dir DIR`: every `{subset}[_{size}].npz` in
 * DIR (official names), grouped by the client its subset belongs to. A client with only some
 * of its subsets (a chest X-ray site with only PneumoniaMNIST) is a valid, partial client.
 * Files that cannot be read are named and skipped; the other clients still load.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLIENT_NAMES,
  clientFromMedMnistFiles,
  groupMedMnistFilesByClient,
  type ClientName,
  type ImportedClient,
} from '@focus-fl/core/data';

export interface MedMnistDir {
  /** Clients with data, in CLIENT_NAMES order. */
  clients: Map<ClientName, ImportedClient>;
  /** One line per skipped file or client: name and reason. */
  skipped: string[];
}

export function loadMedMnistDir(
  dir: string,
  opts: { seed: number; size?: number; maxPerSubset?: number },
): MedMnistDir {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => statSync(join(dir, n)).isFile());
  } catch (e) {
    throw new Error(`--medmnist-dir ${dir}: cannot read the folder (${(e as Error).message})`);
  }
  const { byClient, unknown } = groupMedMnistFilesByClient(names);
  const skipped = unknown
    .filter((n) => /\.npz$/i.test(n))
    .map((n) => `${n}: not a MedMNIST file name ({subset}.npz or {subset}_{28|64|128|224}.npz)`);
  const clients = new Map<ClientName, ImportedClient>();
  for (const client of CLIENT_NAMES) {
    const files = byClient[client];
    if (!files) continue;
    const inputs = files.map((name) => ({
      name,
      bytes: new Uint8Array(readFileSync(join(dir, name))),
    }));
    try {
      clients.set(client, clientFromMedMnistFiles(client, inputs, opts));
      continue;
    } catch {
      // Some file is bad: find which (each alone, on one row), name it, load the rest.
    }
    const good = inputs.filter((f) => {
      try {
        clientFromMedMnistFiles(client, [f], { ...opts, maxPerSubset: 1 });
        return true;
      } catch (e) {
        const msg = (e as Error).message;
        skipped.push(msg.startsWith(f.name) ? msg : `${f.name}: ${msg}`);
        return false;
      }
    });
    if (good.length === 0) continue;
    try {
      clients.set(client, clientFromMedMnistFiles(client, good, opts));
    } catch (e) {
      skipped.push(`client ${client}: ${(e as Error).message}`);
    }
  }
  if (clients.size === 0) {
    throw new Error(
      `--medmnist-dir ${dir}: no usable MedMNIST .npz files${skipped.length ? ` (${skipped.join('; ')})` : ''}`,
    );
  }
  return { clients, skipped };
}
