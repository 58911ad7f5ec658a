/**
 * The book's gradient check (gradient_check.py), as `npm run gradcheck` runs it: numerical
 * gradients of a 784-50-10 TwoLayerNet on the first 3 training images (float64, in a worker)
 * against backprop on the CPU (float64) and on the GPU (float32), compared by mean |difference|.
 */
import {
  backpropGradients,
  compareGradients,
  normalizePixels,
  Relu,
  sliceSplit,
  TwoLayerNet,
  type Backend,
  type GradientDiff,
  type Mnist,
  type Tensor,
} from 'webgpu-backprop';
import { GRADCHECK_NET, type NumericalReply, type NumericalRequest } from './protocol.js';

export type Gradients = Map<string, Float64Array>;

export interface NumericalResult {
  grads: Gradients;
  ms: number;
  forwardPasses: number;
}

export interface BackpropResult {
  grads: Gradients;
  /** Median time of one forward + backward pass, results read back (after a first, cold one). */
  ms: number;
}

const TIMED_RUNS = 5;

export function checkInput(mnist: Mnist, seed: number): NumericalRequest {
  const split = sliceSplit(mnist.train, 0, GRADCHECK_NET.images);
  return { pixels: normalizePixels(split.pixels, Float64Array), labels: split.labels.slice(), count: split.count, seed };
}

export function numericalInWorker(request: NumericalRequest, onProgress: (done: number, total: number) => void): Promise<NumericalResult> {
  const worker = new Worker(new URL('./numerical-worker.ts', import.meta.url), { type: 'module', name: 'numerical gradient' });
  return new Promise<NumericalResult>((resolve, reject) => {
    worker.onmessage = ({ data }: MessageEvent<NumericalReply>) => {
      if (data.kind === 'progress') return onProgress(data.done, data.total);
      worker.terminate();
      if (data.kind === 'error') reject(new Error(`numerical gradient: ${data.message}`));
      else resolve({ grads: new Map(data.grads), ms: data.ms, forwardPasses: data.forwardPasses });
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`numerical gradient worker failed: ${event.message}`));
    };
    worker.postMessage(request);
  });
}

/**
 * A ReLU whose backward forgets to apply its mask: the kind of bug the check exists to catch.
 * Its forward is the real one, so the numerical gradient is unaffected; only backprop is wrong.
 */
class MasklessRelu<T extends Tensor> extends Relu<T> {
  override backward(dout: T): T {
    return dout;
  }
}

/** Backprop gradients of the same net (same seed, same images) on `backend`. */
export async function backpropOn<T extends Tensor>(backend: Backend<T>, request: NumericalRequest, sabotage: boolean): Promise<BackpropResult> {
  const { input, hidden, output, weightInitStd } = GRADCHECK_NET;
  const net = new TwoLayerNet(backend, input, hidden, output, weightInitStd, request.seed);
  if (sabotage) {
    const i = net.layers.findIndex((l) => l instanceof Relu);
    net.layers[i] = new MasklessRelu(backend, net.layers[i]!.name);
  }
  const x = backend.fromArray(request.pixels, [request.count, input]);
  const t = backend.labels(request.labels, output);
  try {
    const grads = await backpropGradients(net, x, t);
    // Timed apart from the first run, which compiles (JIT) and allocates; reading the last
    // gradient back waits for a GPU to finish.
    const times: number[] = [];
    for (let i = 0; i < TIMED_RUNS; i++) {
      const t0 = performance.now();
      net.gradient(x, t);
      await backend.read(net.affines[0]!.W.grad!);
      times.push(performance.now() - t0);
    }
    return { grads, ms: times.sort((a, b) => a - b)[TIMED_RUNS >> 1]! };
  } finally {
    backend.dispose(x, t);
    net.dispose();
  }
}

export interface CheckRow {
  param: string;
  shape: string;
  numericalVsCpu: GradientDiff;
  numericalVsGpu: GradientDiff | undefined;
  cpuVsGpu: GradientDiff | undefined;
}

export function compareAll(numerical: Gradients, cpu: Gradients, gpu: Gradients | undefined, shapes: Map<string, string>): CheckRow[] {
  const vsCpu = compareGradients(cpu, numerical);
  const vsGpu = gpu && compareGradients(gpu, numerical);
  const cpuGpu = gpu && compareGradients(gpu, cpu);
  return vsCpu.map((d, i) => ({
    param: d.name,
    shape: shapes.get(d.name) ?? '',
    numericalVsCpu: d,
    numericalVsGpu: vsGpu?.[i],
    cpuVsGpu: cpuGpu?.[i],
  }));
}

export function paramShapes(): Map<string, string> {
  const { input, hidden, output } = GRADCHECK_NET;
  return new Map([
    ['W1', `${input}×${hidden}`],
    ['b1', `${hidden}`],
    ['W2', `${hidden}×${output}`],
    ['b2', `${output}`],
  ]);
}
