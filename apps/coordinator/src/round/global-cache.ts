/**
 * The global weights a site needs at a round-start: nothing (it holds the current version),
 * the layers changed in the last round (it holds the previous one), or everything. Each
 * payload is encoded once per (version, diff|full) and shared by every site.
 */
import { encodeUpdate, type Narrow } from '@focus-fl/core/federated';
import { layerOf, type NamedArrays } from '@focus-fl/core/tensors';

export type GlobalPayload = Narrow<'round-start'>['global'];

export class GlobalWeightsCache {
  private readonly encoded = new Map<string, Uint8Array>();

  constructor(
    private version: number,
    private global: NamedArrays,
    private changedLayers: string[],
  ) {}

  /** A new global version; the layers it changed since the previous one. */
  set(version: number, global: NamedArrays, changedLayers: string[]): void {
    this.version = version;
    this.global = global;
    this.changedLayers = changedLayers;
    this.encoded.clear();
  }

  payloadFor(knownVersion: number | null): GlobalPayload {
    if (knownVersion === this.version) return null;
    const diff = knownVersion !== null && knownVersion === this.version - 1;
    const key = diff ? 'diff' : 'full';
    let bytes = this.encoded.get(key);
    if (!bytes) {
      const params: NamedArrays = {};
      for (const [k, v] of Object.entries(this.global)) {
        if (!diff || this.changedLayers.includes(layerOf(k))) params[k] = v;
      }
      bytes = encodeUpdate(params, 'fp32');
      this.encoded.set(key, bytes);
    }
    return {
      version: this.version,
      from: diff ? knownVersion : null,
      params: { codec: 'fp32', bytes },
    };
  }
}
