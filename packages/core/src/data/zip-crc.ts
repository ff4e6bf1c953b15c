// CRC-32 check of zip members. fflate's unzipSync does not verify checksums, so a flipped bit
// in a stored (np.savez) member would pass silently; the central directory holds each
// member's CRC-32 (also in Zip64 archives, which NumPy writes), so we compare against it.

let table: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as used by zip. */
export function crc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Member name -> CRC-32 from the zip central directory (empty map if none is found). */
export function centralDirectoryCrcs(zip: Uint8Array): Map<string, number> {
  const out = new Map<string, number>();
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  // End-of-central-directory record: 22 bytes + a comment of up to 65535 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return out;
  const entries = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  if (p === 0xffffffff) {
    // Zip64: the locator just before the EOCD points at the Zip64 EOCD record.
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) return out;
    const z64 = Number(dv.getBigUint64(loc + 8, true));
    if (z64 + 56 > zip.length || dv.getUint32(z64, true) !== 0x06064b50) return out;
    p = Number(dv.getBigUint64(z64 + 48, true));
  }
  const decoder = new TextDecoder();
  for (let e = 0; e < entries || entries === 0xffff; e++) {
    if (p + 46 > zip.length || dv.getUint32(p, true) !== 0x02014b50) break;
    const crc = dv.getUint32(p + 16, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    out.set(decoder.decode(zip.subarray(p + 46, p + 46 + nameLen)), crc);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}
