// The base model (int8 safetensors served by the coordinator, ETag) cached with the Cache API,
// so a reload rejoins without downloading it again. A HEAD request compares the ETag; when the
// coordinator is unreachable the cached copy is used as is. The same HEAD request gives the
// base's size (Content-Length), reported as progress 0 of that size before the download
// starts, so the page says how big it is (115 MB for vilt-b32) before fetching it.
import type { Progress } from './api.js';

const CACHE = 'focus-fl-model-v1';

export interface Fetched {
  bytes: Uint8Array;
  cached: boolean;
}

async function readWithProgress(res: Response, onProgress: Progress): Promise<Uint8Array> {
  const total = Number(res.headers.get('content-length') ?? 0);
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.byteLength;
    onProgress(got, total || got, 'model');
  }
  const out = new Uint8Array(got);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

async function head(url: string): Promise<Response | null> {
  try {
    return await fetch(url, { method: 'HEAD', cache: 'no-store' });
  } catch {
    return null; // offline
  }
}

export async function fetchModel(url: string, onProgress: Progress): Promise<Fetched> {
  const cache = typeof caches !== 'undefined' ? await caches.open(CACHE) : null;
  const hit = await cache?.match(url);
  const info = await head(url);
  if (hit) {
    const etag = info?.headers.get('etag');
    // Offline or no ETag: the cached base is the best we have.
    const fresh = !info || !info.ok || !etag || etag === hit.headers.get('etag');
    if (fresh) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      onProgress(bytes.byteLength, bytes.byteLength, 'model (cached)');
      return { bytes, cached: true };
    }
  }
  const size = Number(info?.ok ? (info.headers.get('content-length') ?? 0) : 0);
  if (size > 0) onProgress(0, size, 'model');
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  const bytes = await readWithProgress(res, onProgress);
  if (cache) {
    const headers = new Headers({ 'content-type': 'application/octet-stream' });
    const etag = res.headers.get('etag');
    if (etag) headers.set('etag', etag);
    await cache.put(url, new Response(bytes.slice().buffer as ArrayBuffer, { headers }));
  }
  return { bytes, cached: false };
}
