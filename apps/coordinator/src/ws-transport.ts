/** A site-client Transport over a Node `ws` WebSocket (simulator, tests, bench). */
import WebSocket from 'ws';
import type { Transport } from '@focus-fl/core/federated';

export function connectWs(url: string, timeoutMs = 10_000): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 512 * 1024 * 1024 });
    let onMsg: ((b: Uint8Array) => void) | null = null;
    let onClose: ((r: string) => void) | null = null;
    const early: Uint8Array[] = [];
    let closedReason: string | null = null;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`connecting to ${url} timed out`));
    }, timeoutMs);
    ws.on('message', (data: Buffer) => {
      const b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (onMsg) onMsg(b);
      else early.push(b);
    });
    ws.on('close', (code, reason) => {
      closedReason = `${code} ${reason.toString()}`.trim();
      onClose?.(closedReason);
    });
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    ws.on('open', () => {
      clearTimeout(timer);
      resolve({
        send: (bytes) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
        },
        onMessage: (h) => {
          onMsg = h;
          for (const b of early.splice(0)) h(b);
        },
        onClose: (h) => {
          onClose = h;
          if (closedReason !== null) h(closedReason);
        },
        close: () => ws.close(1000, 'bye'),
      });
    });
  });
}
