import { blockEntry, SOFTWARE_BLOCK } from '../src/kernels/element-block.js';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { GpuBackend } from '../src/backend/gpu-backend.js';
import { adapterLabel, describeAdapter, type AdapterDescription } from '../src/device/adapter-info.js';
import { GpuTensor } from '../src/tensor/gpu-tensor.js';
import { ShapeError } from '../src/tensor/shape.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { thrown } from './helpers/compare.js';
import { useGpu } from './helpers/gpu.js';
import { openNodeGpu } from '../src/device/discover-node.js';

const { ctx, gpu } = useGpu();
const cpu = new CpuBackend('f64');

const SOFTWARE_DRIVERS = /swiftshader|lavapipe|llvmpipe/i;


function fakeAdapter(info: Partial<GPUAdapterInfo>, fallback?: boolean): GPUAdapter {
  return {
    info: { vendor: '', architecture: '', device: '', description: '', ...info },
    ...(fallback === undefined ? {} : { isFallbackAdapter: fallback }),
  } as unknown as GPUAdapter;
}

describe('openNodeGpu', () => {
  it('reports the adapter: vendor, architecture, description and whether it is software', () => {
    const a = ctx().adapter;
    for (const key of ['vendor', 'architecture', 'description', 'source'] as const) {
      expect(typeof a[key], key).toBe('string');
      expect(a[key].length, key).toBeGreaterThan(0);
    }
    expect(typeof a.software).toBe('boolean');
    // The machines these tests run on have no GPU: Dawn finds SwiftShader (or Mesa's lavapipe),
    // and the adapter must say it is software. A hardware adapter must not be named like one.
    const names = [a.vendor, a.architecture, a.device, a.description].join(' ');
    expect(a.software).toBe(SOFTWARE_DRIVERS.test(names));
    if (a.software) expect(adapterLabel(a)).toContain('software');
    else expect(adapterLabel(a)).toContain('hardware');
    expect(adapterLabel(a)).toContain(a.source);
    expect(gpu().label).toBe(adapterLabel(a));
  });

  it('a second device comes from the same driver, and discovery leaves the environment as it found it', async () => {
    const before = { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };
    const second = await openNodeGpu();
    try {
      expect(second.adapter.source).toBe(ctx().adapter.source);
      expect(second.adapter.description).toBe(ctx().adapter.description);
      expect(second.adapter.skipped).toEqual(ctx().adapter.skipped);
      expect({ VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR }).toEqual(before);
    } finally {
      second.destroy();
    }
  });

  it('opens the device with the adapter’s own storage buffer limit', () => {
    // The WebGPU default is 128 MiB; openDevice asks for what the adapter offers.
    expect(ctx().limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
  });
});

describe('describeAdapter / adapterLabel', () => {
  const cases: [Partial<GPUAdapterInfo>, boolean | undefined, boolean][] = [
    [{ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' }, undefined, true],
    [{ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.7, 256 bits)' }, undefined, true],
    [{ vendor: 'mesa', device: 'lavapipe' }, undefined, true],
    [{ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }, undefined, false],
    [{ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }, false, false],
    [{ vendor: 'unknown', description: 'something' }, true, true],
  ];
  it.each(cases)('%j fallback=%s → software %s', (info, fallback, software) => {
    const d: AdapterDescription = describeAdapter(fakeAdapter(info, fallback), 'test');
    expect(d.software).toBe(software);
    expect(d.vendor).toBe(info.vendor);
    const label = adapterLabel(d);
    expect(label).toContain(software ? 'software' : 'hardware');
    expect(label).toContain(info.vendor!);
    expect(label).toContain('via test');
  });
});

describe('dispatch trace', () => {
  it('is off unless asked for: a new context records and counts dispatches but keeps no trace until tracing is on', async () => {
    const c = await openNodeGpu();
    try {
      expect(c.tracing).toBe(false);
      const g = new GpuBackend(c);
      const x = g.fromArray(new Float32Array(70), [7, 10]);
      const { y, mask } = g.reluForward(x);
      g.flush();
      expect(c.lastTrace).toEqual([]);
      expect(c.dispatches).toBe(1);
      c.tracing = true;
      const dx = g.reluBackward(y, mask);
      g.flush();
      expect(c.lastTrace.map((d) => d.kernel)).toEqual([`activations.${blockEntry('relu_backward', g.kernels.elementBlock)}`]);
      expect(c.dispatches).toBe(2);
      c.tracing = false;
      g.sgdUpdate(x, dx, 0.1);
      g.flush();
      expect(c.lastTrace).toEqual([]);
      expect(c.dispatches).toBe(3);
      expect(Array.from(await g.read(x))).toEqual(Array.from(new Float32Array(70)));
      g.dispose(x, y, mask, dx);
    } finally {
      c.destroy();
    }
  });

  // Both element blocks, whichever the adapter's default: the backend's choice names the entry point.
  it.each([1, SOFTWARE_BLOCK] as const)('lists each submitted kernel with its shapes, in order (%i element(s) per invocation)', async (elementBlock) => {
    const g = new GpuBackend(ctx(), { elementBlock });
    const x = g.fromArray(new Float32Array(70), [7, 10]);
    const labels = g.labels([0, 1, 2, 3, 4, 5, 6], 10);
    const { y, mask } = g.reluForward(x);
    const p = g.softmax(y);
    const { probs, loss } = g.softmaxCrossEntropy(x, labels);
    const big = g.fromArray(new Float32Array(10_000), [100, 100]);
    const s = g.sum(big);
    const db = g.sumColumns(x);
    g.sgdUpdate(x, mask, 0.5);
    g.flush();
    const trace = ctx().lastTrace;
    expect(g.kernels.elementBlock).toBe(elementBlock);
    const elementwise = (entry: string) => blockEntry(entry, elementBlock);
    expect(trace.map((d) => d.kernel)).toEqual([
      `activations.${elementwise('relu_forward')}`,
      'softmax.softmax_rows',
      'softmax.xent_index',
      'reduce.sum_chunks', // the batch-mean loss (7 rows: one pass)
      'reduce.sum_chunks', // 10000 → 79 partials
      'reduce.sum_chunks', // 79 → the sum
      'reduce.column_sum',
      `optimizers.${elementwise('sgd')}`,
    ]);
    expect(trace[0]!.shapes).toBe('x[7,10] → y[7,10], mask[7,10]');
    expect(trace[1]!.shapes).toBe('x[7,10] → y[7,10]');
    expect(trace[2]!.shapes).toBe('logits[7,10], t[7] → y[7,10], loss[7]');
    expect(trace[4]!.shapes).toContain('x[100,100]');
    expect(trace[4]!.shapes).toContain('pass of 10000');
    expect(trace[6]!.shapes).toBe('x[7,10] → Σrows [10]');
    expect(trace[7]!.shapes).toContain('p[7,10]');
    expect(trace[0]!.workgroups).toEqual([1, 1, 1]);
    expect(trace[4]!.workgroups).toEqual([2, 1, 1]);

    // The next submit has a trace of its own, and an empty step records nothing.
    const dx = g.reluBackward(mask, mask);
    g.flush();
    expect(ctx().lastTrace.map((d) => `${d.kernel} ${d.shapes}`)).toEqual([`activations.${elementwise('relu_backward')} dy[7,10], mask[7,10] → dx[7,10]`]);
    g.flush();
    expect(ctx().lastTrace).toEqual([]);
    g.dispose(x, labels, y, mask, p, probs, loss, big, s, db, dx);
  });
});

describe('size limit', () => {
  it('GpuTensor.empty refuses a tensor over maxStorageBufferBindingSize, naming the limit', () => {
    const limit = ctx().limits.maxStorageBufferBindingSize;
    const stats = ctx().pool.stats();
    for (const shape of [[limit / 4 + 1], [2, limit / 8 + 1]]) {
      const error = thrown(() => GpuTensor.empty(ctx(), shape));
      expect(error).toBeInstanceOf(ShapeError);
      expect(error.message).toContain('maxStorageBufferBindingSize');
      expect(error.message).toContain(String(limit));
      expect(error.message).toContain(String(shape[0]));
      expect(() => gpu().zeros(shape)).toThrow(ShapeError);
    }
    // Nothing was allocated for the refused tensors.
    expect(ctx().pool.stats()).toEqual(stats);
  });
});

describe('shape errors name both shapes, on both backends', () => {
  /** Runs the same ops on both backends: both must refuse with the same error and message. */
  function both(run: <T extends Tensor>(b: Backend<T>) => unknown): Error {
    const cpuError = thrown(() => run(cpu));
    const gpuError = thrown(() => run(gpu()));
    expect(gpuError.name).toBe(cpuError.name);
    // Float labels are f64 on the reference backend and f32 on the GPU; the rest is identical.
    const same = (m: string) => m.replace(/\(f(32|64)\)/g, '(float)');
    expect(same(gpuError.message)).toBe(same(cpuError.message));
    return gpuError;
  }

  it('reluBackward and sigmoidBackward with mismatched shapes', () => {
    const e1 = both((b) => b.reluBackward(b.zeros([3, 4]), b.zeros([4, 3])));
    expect(e1).toBeInstanceOf(ShapeError);
    expect(e1.message).toBe('reluBackward: dy [3, 4] and mask [4, 3] must have the same shape');
    const e2 = both((b) => b.sigmoidBackward(b.zeros([12]), b.zeros([3, 4])));
    expect(e2).toBeInstanceOf(ShapeError);
    expect(e2.message).toBe('sigmoidBackward: dy [12] and y [3, 4] must have the same shape');
  });

  it('labels that do not fit the scores', () => {
    const cases = [
      ['index labels of the wrong length', (b) => b.labels([0, 1, 2, 3], 10), 'labels [4] (u32)'],
      ['one-hot labels with too few classes', (b) => b.zeros([5, 9]), 'labels [5, 9] (f'],
      ['one-hot labels with too many rows', (b) => b.zeros([6, 10]), 'labels [6, 10] (f'],
    ] as const satisfies readonly (readonly [string, <T extends Tensor>(b: Backend<T>) => T, string])[];
    for (const [what, labels, named] of cases) {
      for (const op of ['softmaxCrossEntropy', 'softmaxCrossEntropyBackward', 'countCorrect'] as const) {
        const e = both((b) => b[op](b.zeros([5, 10]), labels(b)));
        expect(e, `${op}: ${what}`).toBeInstanceOf(ShapeError);
        expect(e.message).toContain(`${op}: `);
        expect(e.message).toContain(named);
        expect(e.message).toContain('scores [5, 10]');
      }
    }
  });

  it('labels() with an index outside the classes names the index and its position', () => {
    for (const [indices, position, value] of [[[0, 3, 10], 2, 10], [[7, -1], 1, -1], [[1.5], 0, 1.5]] as const) {
      const e = both((b) => b.labels(indices, 10));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(`labels: index ${position} is ${value}, not a class in [0, 10)`);
    }
  });

  it('matrix-only ops refuse other ranks', () => {
    for (const op of ['softmax', 'argmax', 'sumColumns'] as const) {
      const e = both((b) => b[op](b.zeros([10])));
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.message).toContain('expected a rank-2 tensor, got shape [10]');
    }
  });
});
