import type { AdapterDescription } from 'webgpu-backprop';
import type { ConvBenchResult } from './conv-bench.js';
import type { CrossoverResult } from './crossover.js';
import type { DataSource } from './data.js';
import type { EngineName } from './engine.js';
import type { GpuVsCpuResult } from './gpu-vs-cpu.js';
import type { HostTimeResult } from './host-time.js';
import type { KernelResult } from './kernels.js';
import type { MatmulVsTfjs } from './matmul-vs-tfjs.js';
import type { OverheadResult } from './overhead.js';
import type { Plan } from './plan.js';
import type { TrainingResult } from './train-bench.js';

/** What the browser runner asks a fresh bench page to do, through window.bench.run. */
export type PageTask =
  | { kind: 'info' }
  | { kind: 'train'; engine: EngineName; plan: Plan; data: DataSource }
  | { kind: 'kernels'; plan: Plan }
  | { kind: 'matmul-vs-tfjs'; plan: Plan }
  | { kind: 'overhead'; plan: Plan }
  | { kind: 'crossover'; plan: Plan; data: DataSource }
  | { kind: 'gpu-vs-cpu'; plan: Plan; data: DataSource }
  | { kind: 'host'; plan: Plan; data: DataSource }
  /** SimpleConvNet's step on every engine of plan.conv.engines (never numpy), all in this one page. */
  | { kind: 'conv'; plan: Plan; data: DataSource };

export interface PageInfo {
  /** The adapter navigator.gpu offers (what ours and the WebGPU peers get), or null. */
  adapter: AdapterDescription | null;
  userAgent: string;
  hardwareConcurrency: number;
  crossOriginIsolated: boolean;
}

export interface PageResults {
  info: PageInfo;
  train: TrainingResult;
  kernels: KernelResult[];
  'matmul-vs-tfjs': MatmulVsTfjs;
  overhead: OverheadResult;
  crossover: CrossoverResult;
  'gpu-vs-cpu': GpuVsCpuResult;
  host: HostTimeResult;
  conv: ConvBenchResult;
}

export interface BenchPageApi {
  run<K extends PageTask['kind']>(task: Extract<PageTask, { kind: K }>): Promise<PageResults[K]>;
}
