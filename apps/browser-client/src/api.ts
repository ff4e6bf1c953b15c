// The worker's comlink API as seen from the page. Type-only: the page never imports tfjs.
import type { EvalResult, RoundConfig, ScoreRequest, TrainResult } from '@focus-fl/core/federated';
import type { LocalTrainConfig } from '@focus-fl/core/site';
import type { LayerScores } from '@focus-fl/core/methods';
import type { Int8MatMulCase, Int8MatMulCheck } from '@focus-fl/core/model';
import type { NamedArrays } from '@focus-fl/core/tensors';
import type { DataSummary } from './storage.js';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BackendProbe {
  backend: BackendName;
  /** Median ms of a training step of the probe model; null when it failed or ran too long. */
  stepMs: number | null;
  note?: string;
}

export interface BackendInfo {
  backend: BackendName;
  /** Backends tried before it and why they were passed over. */
  skipped: string[];
  crossOriginIsolated: boolean;
  /** `auto` only: the measured step time of every backend that works here (backend.ts). */
  probes?: BackendProbe[];
  /** Measured step ms of the chosen backend (auto), for the page to show. */
  stepMs?: number;
}

export interface ImportError {
  file: string;
  message: string;
}

export interface ImportReport {
  imported: number;
  errors: ImportError[];
  /** Non-fatal remarks (rows skipped, answers outside the vocabulary, …). */
  notes: string[];
  summary: DataSummary;
  /** True when the user cancelled; importing the same files again resumes. */
  cancelled?: boolean;
}

export interface Thumb {
  size: number;
  rgba: Uint8ClampedArray;
  label: string;
}

export interface Progress {
  (done: number, total: number, label?: string): void;
}

export interface ModelInfo {
  /** True when the base model came from the local cache (no download). */
  cached: boolean;
  bytes: number;
  layers: string[];
  preset: string;
  /** Bytes the weights take in memory (frozen base int8 + fp32 scales, the rest fp32). */
  residentBytes: number;
  /** Bytes the same weights would take all fp32 (the base dequantized at load). */
  fp32Bytes: number;
  /** How many int8 weights live on the device (webgpu) rather than in host memory. */
  deviceInt8: number;
}

export interface LoadOptions {
  /** 'int8' (default): the frozen base stays int8 in memory; 'fp32': dequantized once at load
   * (the comparison path of the memory measurements). */
  weights?: 'int8' | 'fp32';
  /** false: skip the activation probe after loading (memory measurements of the weights
   * alone); default true. */
  probe?: boolean;
}

/** What the worker holds in memory now (bench/vilt-tab.bench.ts, the WebGPU e2e test). */
export interface WorkerMemory {
  backend: string;
  /** tf.memory(): bytes and count of the backend's tensors (GPU buffers on webgpu). */
  tfBytes: number;
  tfTensors: number;
  /** The backend's own footprint where it has one (the wasm heap), else tfBytes. */
  backendBytes: number;
  /** The model's count of its weights (int8 values + scales, fp32 tensors); 0 before load. */
  residentBytes: number;
  /** Fused int8 dequantize-matmul kernels run so far (core model/int8-matmul.ts). */
  fusedInt8MatMuls: number;
}

export interface SyntheticOptions {
  seed: number;
  /** Fraction of the paper's sample count; see core syntheticClient. */
  scale?: number;
  /** Minimum samples per client. */
  floor?: number;
}

export interface WorkerApi {
  init(opts: { backend?: BackendName; wasmBase: string }): Promise<BackendInfo>;
  summary(): Promise<DataSummary>;
  thumbnails(n: number): Promise<Thumb[]>;
  importFiles(files: File[], onProgress?: Progress): Promise<ImportReport>;
  /** Stops a running importFiles after its current batch (committed; resumable). */
  cancelImport(): Promise<void>;
  useSynthetic(name: string, opts: SyntheticOptions, onProgress?: Progress): Promise<ImportReport>;
  forget(): Promise<void>;
  loadModel(url: string, onProgress?: Progress, opts?: LoadOptions): Promise<ModelInfo>;
  memory(): Promise<WorkerMemory>;
  /** The int8 product on this tab's backend against an exact reference (core
   * model/int8-matmul-check.ts): fused on webgpu, plain ops elsewhere. */
  checkInt8MatMul(cases: Int8MatMulCase[]): Promise<Int8MatMulCheck[]>;
  computeScores(request: ScoreRequest, onProgress?: Progress): Promise<LayerScores>;
  train(layers: string[], config: LocalTrainConfig, onProgress?: Progress): Promise<TrainResult>;
  /**
   * `config.answerMask`: the round's prediction rule (core federated/local-options.ts);
   * `config.personalization`: which model (core federated/personalization.ts; the site's own
   * model is kept in the worker's memory for the session).
   */
  evaluate(config?: Pick<RoundConfig, 'answerMask' | 'personalization'>): Promise<EvalResult>;
  setGlobal(params: NamedArrays): Promise<void>;
  /** Current values of the named params (tests compare backends with it). */
  getParams(names: string[]): Promise<NamedArrays>;
  /** Round trip through the worker's message queue (responsiveness checks). */
  ping(): Promise<number>;
}
