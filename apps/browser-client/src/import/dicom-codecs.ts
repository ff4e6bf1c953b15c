// Compressed DICOM frames -> raw pixel bytes, through well-kept codec builds from npm:
// CharLS (JPEG-LS), OpenJPEG (JPEG 2000) and libjpeg-turbo (JPEG baseline) as the cornerstone
// WebAssembly decoders, rii-mango's jpeg-lossless-decoder-js (JPEG lossless, processes 14),
// and the RLE decoder in dicom-rle.ts. The wasm binaries are handed in by the caller (the
// worker fetches them from the bundle; Node tests read them from node_modules), so the same
// code runs in both.
import charlsFactory from '@cornerstonejs/codec-charls/decodewasmjs';
import openjpegFactory from '@cornerstonejs/codec-openjpeg/decodewasmjs';
import libjpegFactory from '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs';
import { Decoder as JpegLosslessDecoder } from 'jpeg-lossless-decoder-js';
import { decodeRleFrame } from './dicom-rle.js';

/** Transfer syntaxes whose PixelData is stored as is (PS3.5 A.1-A.5). */
export const NATIVE_SYNTAXES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
  '1.2.840.10008.1.2.1.99': 'deflated explicit VR little endian',
  '1.2.840.10008.1.2.2': 'explicit VR big endian',
};

export type CodecName = 'rle' | 'jpeg-baseline' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg2000';

/** Encapsulated transfer syntaxes this importer decodes (PS3.5 A.4 / A.6). */
export const ENCAPSULATED_SYNTAXES: Readonly<Record<string, { codec: CodecName; name: string }>> = {
  '1.2.840.10008.1.2.5': { codec: 'rle', name: 'RLE lossless' },
  '1.2.840.10008.1.2.4.50': { codec: 'jpeg-baseline', name: 'JPEG baseline (process 1)' },
  '1.2.840.10008.1.2.4.57': { codec: 'jpeg-lossless', name: 'JPEG lossless (process 14)' },
  '1.2.840.10008.1.2.4.70': { codec: 'jpeg-lossless', name: 'JPEG lossless (process 14, SV1)' },
  '1.2.840.10008.1.2.4.80': { codec: 'jpeg-ls', name: 'JPEG-LS lossless' },
  '1.2.840.10008.1.2.4.81': { codec: 'jpeg-ls', name: 'JPEG-LS near-lossless' },
  '1.2.840.10008.1.2.4.90': { codec: 'jpeg2000', name: 'JPEG 2000 lossless' },
  '1.2.840.10008.1.2.4.91': { codec: 'jpeg2000', name: 'JPEG 2000' },
  // OpenJPEG (>= 2.5) also decodes High-Throughput JPEG 2000 (ISO 15444-15) codestreams.
  '1.2.840.10008.1.2.4.201': { codec: 'jpeg2000', name: 'HTJ2K lossless' },
  '1.2.840.10008.1.2.4.202': { codec: 'jpeg2000', name: 'HTJ2K lossless (RPCL)' },
  '1.2.840.10008.1.2.4.203': { codec: 'jpeg2000', name: 'HTJ2K' },
};

/** Names of a few syntaxes we recognise but do not decode (for a clear message). */
export const KNOWN_UNSUPPORTED: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.51': 'JPEG extended (12-bit, process 2/4)',
  '1.2.840.10008.1.2.4.100': 'MPEG-2 video',
  '1.2.840.10008.1.2.4.102': 'MPEG-4 video',
  '1.2.840.10008.1.2.4.110': 'JPEG XL lossless',
  '1.2.840.10008.1.2.4.112': 'JPEG XL',
};

/** Bytes of the three WebAssembly decoders (`*_decode.wasm` of the cornerstone packages). */
export interface WasmBinaries {
  charls(): Promise<Uint8Array | ArrayBuffer>;
  openjpeg(): Promise<Uint8Array | ArrayBuffer>;
  libjpegTurbo(): Promise<Uint8Array | ArrayBuffer>;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
  delete(): void;
}
interface WasmModule {
  JpegLSDecoder?: new () => WasmDecoder;
  J2KDecoder?: new () => WasmDecoder;
  JPEGDecoder?: new () => WasmDecoder;
}
type Factory = (opts: {
  wasmBinary: Uint8Array | ArrayBuffer;
  print: (s: string) => void;
  printErr: (s: string) => void;
}) => Promise<WasmModule>;
/** OpenJPEG prints an [INFO] line per frame; errors still surface as thrown exceptions. */
const quiet = (): void => undefined;

/** The decoders, instantiated once on first use. */
export class FrameDecoders {
  private modules = new Map<string, Promise<WasmModule>>();
  constructor(private readonly wasm: WasmBinaries) {}

  private module(key: keyof WasmBinaries, factory: unknown): Promise<WasmModule> {
    let m = this.modules.get(key);
    if (!m) {
      m = this.wasm[key]().then((wasmBinary) =>
        (factory as Factory)({ wasmBinary, print: quiet, printErr: quiet }),
      );
      this.modules.set(key, m);
      m.catch(() => this.modules.delete(key));
    }
    return m;
  }

  /**
   * One encapsulated frame -> uncompressed pixel bytes (little-endian samples, interleaved per
   * pixel), checked against the size the DICOM header promises.
   */
  async decode(
    codec: CodecName,
    frame: Uint8Array,
    img: { rows: number; cols: number; samplesPerPixel: number; bitsAllocated: number },
  ): Promise<Uint8Array> {
    const bytesPerSample = img.bitsAllocated / 8;
    let out: Uint8Array;
    if (codec === 'rle') {
      out = decodeRleFrame(frame, img.rows, img.cols, img.samplesPerPixel, img.bitsAllocated);
    } else if (codec === 'jpeg-lossless') {
      // The decoder reads its own buffer from offset 0: give it an exact copy.
      const copy = frame.slice();
      const decoded = new JpegLosslessDecoder().decode(copy.buffer, 0, copy.length, bytesPerSample);
      out = new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength).slice();
    } else {
      const [key, factory, ctor] =
        codec === 'jpeg-ls'
          ? (['charls', charlsFactory, 'JpegLSDecoder'] as const)
          : codec === 'jpeg2000'
            ? (['openjpeg', openjpegFactory, 'J2KDecoder'] as const)
            : (['libjpegTurbo', libjpegFactory, 'JPEGDecoder'] as const);
      const mod = await this.module(key, factory);
      const Ctor = mod[ctor];
      if (!Ctor) throw new Error(`${codec} decoder module lacks ${ctor}`);
      const d = new Ctor();
      try {
        d.getEncodedBuffer(frame.length).set(frame);
        d.decode();
        out = d.getDecodedBuffer().slice();
      } finally {
        d.delete();
      }
    }
    const want = img.rows * img.cols * img.samplesPerPixel * bytesPerSample;
    if (out.length !== want) {
      throw new Error(
        `${codec} frame decoded to ${out.length} bytes, ${img.rows}x${img.cols}x${img.samplesPerPixel}x${img.bitsAllocated} bit needs ${want}`,
      );
    }
    return out;
  }
}
