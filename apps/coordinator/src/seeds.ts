/** A 32-bit seed from a base seed, a round and a name (FNV-1a), for per-site, per-round streams. */
export function hashSeed(seed: number, round: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const c of `${round}:${name}`) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
