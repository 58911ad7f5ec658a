import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { blockEntry } from '../src/kernels/element-block.js';
import { OPTIMIZER_SPEC } from '../src/kernels/optimizers.js';
import type { OptimizerKind } from '../src/backend/ops.js';
import type { Param } from '../src/nn/layers.js';
import { MultiLayerNet } from '../src/nn/multi-layer-net.js';
import { ShapeError } from '../src/tensor/shape.js';
import type { Tensor } from '../src/tensor/tensor.js';
import {
  AdaGrad,
  Adam,
  createOptimizer,
  Momentum,
  Nesterov,
  RMSprop,
  SGD,
  type OptimizerName,
  type StatefulOptimizer,
} from '../src/train/optimizer.js';
import { EPS32, expectClose, randomArray, thrown } from './helpers/compare.js';
import { describeElementBlocks, useGpu } from './helpers/gpu.js';

const { ctx, gpu } = useGpu();
const cpu = new CpuBackend('f64');

beforeAll(async () => {
  ctx().pool.poison = true;
  await gpu().prepare();
});

/** One parameter named 'w' whose gradient is set before each update. */
function paramOn<T extends Tensor>(be: Backend<T>, values: ArrayLike<number>): Param<T> {
  return { name: 'w', value: be.fromArray(values, [values.length]), grad: undefined };
}

async function steps<T extends Tensor>(be: Backend<T>, opt: StatefulOptimizer<T>, p0: number[], grads: number[][]) {
  const p = paramOn(be, p0);
  const out: number[][] = [];
  for (const g of grads) {
    p.grad = be.fromArray(g, [g.length]);
    opt.update([p]);
    out.push(Array.from(await be.read(p.value)));
  }
  return { params: out, state: await opt.state() };
}

// ---------------------------------------------------------------------------------------------
// (1) Three steps against values worked out by hand from the book's formulas (common/optimizer.py).
// p0 = [1, -2, 0.5] and the same gradient g = [0.5, -1, 2] at every step; g² = [0.25, 1, 4].
// ---------------------------------------------------------------------------------------------
const P0 = [1, -2, 0.5];
const G = [0.5, -1, 2];
const G3 = [G, G, G];
const TIGHT = 1e-12;

describe('the book\'s optimizers, three steps by hand (CPU, float64)', () => {
  it('Momentum (lr 0.1, momentum 0.9): v = 0.9v - 0.1g; p += v', async () => {
    const { params, state } = await steps(cpu, new Momentum(cpu, 0.1, 0.9), P0, G3);
    // v1 = -0.1g                       = [-0.05, 0.1, -0.2]
    // v2 = 0.9·v1 - 0.1g = -0.19g      = [-0.095, 0.19, -0.38]
    // v3 = 0.9·v2 - 0.1g = -0.271g     = [-0.1355, 0.271, -0.542]
    expectClose(params[0]!, [0.95, -1.9, 0.3], TIGHT, 'p1');
    expectClose(params[1]!, [0.855, -1.71, -0.08], TIGHT, 'p2');
    expectClose(params[2]!, [0.7195, -1.439, -0.622], TIGHT, 'p3');
    expectClose(state.tensors['w.v']!, [-0.1355, 0.271, -0.542], 1e-7, 'v3 (float32 state)');
    expect(state.step).toBe(3);
  });

  it('Nesterov as the book writes it (lr 0.1, momentum 0.9): p += 0.81v - 0.19g', async () => {
    const { params } = await steps(cpu, new Nesterov(cpu, 0.1, 0.9), P0, G3);
    // v as for Momentum; p += momentum²·v - (1 + momentum)·lr·g = 0.81·v - 0.19·g.
    // p1 = [1 - 0.0405 - 0.095, -2 + 0.081 + 0.19, 0.5 - 0.162 - 0.38]
    expectClose(params[0]!, [0.8645, -1.729, -0.042], TIGHT, 'p1');
    // p2 = p1 + 0.81·[-0.095, 0.19, -0.38] - [0.095, -0.19, 0.38]
    //    = [0.8645 - 0.07695 - 0.095, -1.729 + 0.1539 + 0.19, -0.042 - 0.3078 - 0.38]
    expectClose(params[1]!, [0.69255, -1.3851, -0.7298], TIGHT, 'p2');
    // p3 = p2 + 0.81·[-0.1355, 0.271, -0.542] - [0.095, -0.19, 0.38]
    //    = [0.69255 - 0.109755 - 0.095, -1.3851 + 0.21951 + 0.19, -0.7298 - 0.43902 - 0.38]
    expectClose(params[2]!, [0.487795, -0.97559, -1.54882], TIGHT, 'p3');
  });

  it('AdaGrad (lr 0.1): h += g²; p -= 0.1g / (√h + 1e-7)', async () => {
    const { params, state } = await steps(cpu, new AdaGrad(cpu, 0.1), P0, G3);
    // h1 = [0.25, 1, 4], √h1 = [0.5, 1, 2]: each element moves by about 0.1 against its gradient.
    const p1 = [1 - 0.05 / (0.5 + 1e-7), -2 + 0.1 / (1 + 1e-7), 0.5 - 0.2 / (2 + 1e-7)];
    // h2 = [0.5, 2, 8]
    const p2 = [p1[0]! - 0.05 / (Math.sqrt(0.5) + 1e-7), p1[1]! + 0.1 / (Math.sqrt(2) + 1e-7), p1[2]! - 0.2 / (Math.sqrt(8) + 1e-7)];
    // h3 = [0.75, 3, 12]
    const p3 = [p2[0]! - 0.05 / (Math.sqrt(0.75) + 1e-7), p2[1]! + 0.1 / (Math.sqrt(3) + 1e-7), p2[2]! - 0.2 / (Math.sqrt(12) + 1e-7)];
    expectClose(params[0]!, p1, TIGHT, 'p1');
    expectClose(params[1]!, p2, TIGHT, 'p2');
    expectClose(params[2]!, p3, TIGHT, 'p3');
    expectClose(params[0]!, [0.9, -1.9, 0.4], 1e-6, 'p1 ≈ p0 - 0.1·sign(g)');
    expectClose(state.tensors['w.h']!, [0.75, 3, 12], 0, 'h3');
  });

  it('RMSprop (lr 0.1, decay 0.99): h = 0.99h + 0.01g²; p -= 0.1g / (√h + 1e-7)', async () => {
    const { params, state } = await steps(cpu, new RMSprop(cpu, 0.1, 0.99), P0, G3);
    // h1 = 0.01g²                         = [0.0025, 0.01, 0.04]     (√ = [0.05, 0.1, 0.2])
    // h2 = 0.99·h1 + 0.01g² = 0.0199g²    = [0.004975, 0.0199, 0.0796]
    // h3 = 0.99·h2 + 0.01g² = 0.029701g²  = [0.00742525, 0.029701, 0.118804]
    const p1 = [1 - 0.05 / (0.05 + 1e-7), -2 + 0.1 / (0.1 + 1e-7), 0.5 - 0.2 / (0.2 + 1e-7)];
    const p2 = [p1[0]! - 0.05 / (Math.sqrt(0.004975) + 1e-7), p1[1]! + 0.1 / (Math.sqrt(0.0199) + 1e-7), p1[2]! - 0.2 / (Math.sqrt(0.0796) + 1e-7)];
    const p3 = [p2[0]! - 0.05 / (Math.sqrt(0.00742525) + 1e-7), p2[1]! + 0.1 / (Math.sqrt(0.029701) + 1e-7), p2[2]! - 0.2 / (Math.sqrt(0.118804) + 1e-7)];
    expectClose(params[0]!, p1, TIGHT, 'p1');
    expectClose(params[1]!, p2, TIGHT, 'p2');
    expectClose(params[2]!, p3, TIGHT, 'p3');
    // The first step is a whole lr·sign(g): √h1 = 0.1|g|.
    expectClose(params[0]!, [0, -1, -0.5], 1e-5, 'p1 ≈ p0 - 1·sign(g)');
    expectClose(state.tensors['w.h']!, [0.00742525, 0.029701, 0.118804], 1e-9, 'h3 (float32 state)');
  });

  it('Adam (lr 0.001, β 0.9/0.999): bias correction divides by 1 - β^t, t from 1', async () => {
    const { params, state } = await steps(cpu, new Adam(cpu), P0, G3);
    // With a constant g: m_t = (1 - 0.9^t)·g, v_t = (1 - 0.999^t)·g².
    //   m1 = 0.1g,   v1 = 0.001g²,      lr_1 = 0.001·√0.001 / 0.1
    //   m2 = 0.19g,  v2 = 0.001999g²,   lr_2 = 0.001·√0.001999 / 0.19
    //   m3 = 0.271g, v3 = 0.002997001g², lr_3 = 0.001·√0.002997001 / 0.271
    // so each step is lr·g/|g| = 0.001·sign(g), less the 1e-7 in the denominator.
    const lr1 = (0.001 * Math.sqrt(0.001)) / 0.1;
    const lr2 = (0.001 * Math.sqrt(0.001999)) / 0.19;
    const lr3 = (0.001 * Math.sqrt(0.002997001)) / 0.271;
    const m1 = [0.05, -0.1, 0.2], v1 = [0.00025, 0.001, 0.004];
    const m2 = [0.095, -0.19, 0.38], v2 = [0.00049975, 0.001999, 0.007996];
    const m3 = [0.1355, -0.271, 0.542], v3 = [0.00074925025, 0.002997001, 0.011988004];
    const p1 = P0.map((p, i) => p - (lr1 * m1[i]!) / (Math.sqrt(v1[i]!) + 1e-7));
    const p2 = p1.map((p, i) => p - (lr2 * m2[i]!) / (Math.sqrt(v2[i]!) + 1e-7));
    const p3 = p2.map((p, i) => p - (lr3 * m3[i]!) / (Math.sqrt(v3[i]!) + 1e-7));
    expectClose(params[0]!, p1, TIGHT, 'p1');
    expectClose(params[1]!, p2, TIGHT, 'p2');
    expectClose(params[2]!, p3, TIGHT, 'p3');
    // The first step is lr·sign(g) to within the 1e-7 (≤ 0.001·1e-7/(√0.00025) ≈ 6.3e-9)…
    expectClose(params[0]!, [0.999, -1.999, 0.499], 1e-8, 'p1 ≈ p0 - 0.001·sign(g)');
    expectClose(params[2]!, [0.997, -1.997, 0.497], 3e-8, 'p3 ≈ p0 - 0.003·sign(g)');
    // …where multiplying by (1 - β^t) instead (ConvNetJS's bug) would move it by only ~1e-5.
    const multiplied = (0.001 * 0.1 * 0.05) / (Math.sqrt(0.001 * 0.25) * 0.001);
    expect(Math.abs(P0[0]! - params[0]![0]! - multiplied)).toBeGreaterThan(1e-4);
    expectClose(state.tensors['w.m']!, m3, 1e-8, 'm3');
    expectClose(state.tensors['w.v']!, v3, 1e-9, 'v3');
    expect(state.step).toBe(3);
  });
});

// ---------------------------------------------------------------------------------------------
// (2) GPU against the float64 CPU reference, 5 steps with a new random gradient each step.
// ---------------------------------------------------------------------------------------------
const MAKERS: Record<OptimizerKind, <T extends Tensor>(be: Backend<T>) => StatefulOptimizer<T>> = {
  momentum: (be) => new Momentum(be, 0.1, 0.9),
  nesterov: (be) => new Nesterov(be, 0.1, 0.9),
  adagrad: (be) => new AdaGrad(be, 0.1),
  rmsprop: (be) => new RMSprop(be, 0.1, 0.99),
  adam: (be) => new Adam(be, 0.1),
};
const KINDS = Object.keys(MAKERS) as OptimizerKind[];
const CASES = KINDS.flatMap((kind) => [1, 7, 1000].map((n) => ({ kind, n })));

describeElementBlocks(ctx, 'GPU kernels against the float64 CPU reference, 5 steps', (gpu) => {
  it.each(CASES)('$kind, $n values', async ({ kind, n }) => {
    const p0 = randomArray(n, n * 7 + 1, 2);
    const grads = [0, 1, 2, 3, 4].map((s) => randomArray(n, n * 31 + s + 2, 1));

    // CPU f64: keep every step of the parameter and each state tensor, for the tolerance.
    const cOpt = MAKERS[kind](cpu);
    const cp = paramOn(cpu, p0);
    const names = OPTIMIZER_SPEC[kind].state;
    const zero = new Float64Array(n);
    const traj: Record<string, Float64Array[]> = { p: [Float64Array.from(p0)], ...Object.fromEntries(names.map((s) => [s, [zero]])) };
    for (const g of grads) {
      cp.grad = cpu.fromArray(g, [n]);
      cOpt.update([cp]);
      traj.p!.push(Float64Array.from(await cpu.read(cp.value)));
      const st = await cOpt.state();
      for (const s of names) traj[s]!.push(Float64Array.from(st.tensors[`w.${s}`]!));
    }

    const gOpt = MAKERS[kind](gpu());
    const gp = paramOn(gpu(), p0);
    const gradTensors = grads.map((g) => gpu().fromArray(g, [n]));
    const buffer = gp.value.buffer;
    for (const g of gradTensors) {
      gp.grad = g;
      gOpt.update([gp]);
    }
    expect(gp.value.buffer, 'updated in place').toBe(buffer);
    const out = await gpu().read(gp.value);
    const gState = await gOpt.state();

    // Tolerance. Each step computes x_t from x_{t-1} and g_t with a handful of float32 roundings
    // (the coefficients rounded into the uniform, products, sums, √ and a division: WGSL allows
    // 2.5 ulp for the division and ~2 ulp through √), each relative to the magnitude of what it
    // combines: |x_{t-1}|, |x_t| (≥ the update's size) and the gradient's terms |g| and g²
    // (the new-information terms are ≤ these since lr, 1-β, 1-decay ≤ 1). Errors carried from
    // earlier steps are multiplied by coefficients ≤ 1 (momentum, decay, β) or, through √h, by
    // about a half. 16 roundings per step bound it with room for a fused multiply-add either way.
    const tolFor = (xs: Float64Array[]) => {
      const tol = new Float64Array(n);
      for (let t = 1; t < xs.length; t++) {
        const g = grads[t - 1]!;
        for (let i = 0; i < n; i++) tol[i]! += 16 * EPS32 * (Math.abs(xs[t - 1]![i]!) + Math.abs(xs[t]![i]!) + Math.abs(g[i]!) + g[i]! * g[i]!);
      }
      return tol;
    };
    expectClose(out, traj.p!.at(-1)!, tolFor(traj.p!), `${kind} n=${n} param`);
    for (const s of names) expectClose(gState.tensors[`w.${s}`]!, traj[s]!.at(-1)!, tolFor(traj[s]!), `${kind} n=${n} state ${s}`);
    // Gradients are read, not written.
    expect(Array.from(await gpu().read(gradTensors[0]!))).toEqual(Array.from(grads[0]!));
    gOpt.dispose();
    gpu().dispose(gp.value, ...gradTensors);
  });

  it('one dispatch per parameter per step, named after the optimizer', () => {
    const opt = new Adam(gpu());
    const params = [paramOn(gpu(), [1, 2, 3]), { ...paramOn(gpu(), [4, 5]), name: 'b' }];
    for (const p of params) p.grad = gpu().fromArray(new Float32Array(p.value.size).fill(1), p.value.shape);
    gpu().flush();
    opt.update(params);
    gpu().flush();
    const name = `optimizers.${blockEntry('adam', gpu().kernels.elementBlock)}`;
    expect(ctx().lastTrace.map((d) => d.kernel)).toEqual([name, name]);
    opt.dispose();
    for (const p of params) gpu().dispose(p.value, p.grad);
  });
});

// ---------------------------------------------------------------------------------------------
// (3) Bad hyperparameters and bad inputs.
// ---------------------------------------------------------------------------------------------
describe('bad hyperparameters are refused, naming them', () => {
  it.each([
    ['Momentum lr 0', () => new Momentum(cpu, 0), /Momentum: learning rate .* got 0/],
    ['Momentum lr NaN', () => new Momentum(cpu, NaN), /Momentum: learning rate .* got NaN/],
    ['Momentum momentum 1', () => new Momentum(cpu, 0.1, 1), /Momentum: momentum must be .*\[0, 1\), got 1/],
    ['Nesterov momentum -0.1', () => new Nesterov(cpu, 0.1, -0.1), /Nesterov: momentum .* got -0.1/],
    ['AdaGrad lr -1', () => new AdaGrad(cpu, -1), /AdaGrad: learning rate .* got -1/],
    ['AdaGrad lr Infinity', () => new AdaGrad(cpu, Infinity), /AdaGrad: learning rate .* got Infinity/],
    ['RMSprop decay 1', () => new RMSprop(cpu, 0.01, 1), /RMSprop: decay .* got 1/],
    ['RMSprop decay NaN', () => new RMSprop(cpu, 0.01, NaN), /RMSprop: decay .* got NaN/],
    ['Adam beta1 1', () => new Adam(cpu, 0.001, 1), /Adam: beta1 .* got 1/],
    ['Adam beta2 1.5', () => new Adam(cpu, 0.001, 0.9, 1.5), /Adam: beta2 .* got 1.5/],
    ['Adam lr 0', () => new Adam(cpu, 0), /Adam: learning rate .* got 0/],
    ['unknown name', () => createOptimizer(cpu, 'lion' as OptimizerName, 0.1), /unknown optimizer 'lion', expected one of sgd, momentum/],
  ] as const)('%s', (_, make, message) => {
    const e = thrown(make);
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(message);
  });

  it('the backend op refuses non-finite hyperparameters, a wrong state and Adam step 0, on both devices, recording nothing', () => {
    for (const be of [cpu, gpu()] as Backend<Tensor>[]) {
      const p = be.zeros([4]);
      const g = be.zeros([4]);
      const s = [be.zeros([4]), be.zeros([4])];
      gpu().flush();
      const cases: [() => void, ErrorConstructor | typeof ShapeError, RegExp][] = [
        [() => be.optimizerUpdate('momentum', p, g, [s[0]!], { lr: NaN, momentum: 0.9 }), RangeError, /optimizerUpdate\(momentum\): learning rate must be a finite number, got NaN/],
        [() => be.optimizerUpdate('rmsprop', p, g, [s[0]!], { lr: 0.1, decay: Infinity }), RangeError, /decay must be a finite number, got Infinity/],
        [() => be.optimizerUpdate('rmsprop', p, g, [s[0]!], { lr: 0.1 }), RangeError, /decay must be a finite number, got undefined/],
        [() => be.optimizerUpdate('adam', p, g, s, { lr: 0.1, beta1: 0.9, beta2: 0.999, step: 0 }), RangeError, /step must be an integer >= 1/],
        [() => be.optimizerUpdate('adam', p, g, [s[0]!], { lr: 0.1, beta1: 0.9, beta2: 0.999, step: 1 }), RangeError, /expected 2 state tensor\(s\) \(m, v\), got 1/],
        [() => be.optimizerUpdate('adagrad', p, g, [be.zeros([2, 2])], { lr: 0.1 }), ShapeError, /param \[4\] and state h \[2, 2\]/],
        [() => be.optimizerUpdate('adagrad', p, be.zeros([5]), [s[0]!], { lr: 0.1 }), ShapeError, /param \[4\] and grad \[5\]/],
      ];
      for (const [fn, type, message] of cases) {
        const e = thrown(fn);
        expect(e, `${be.device} ${message}`).toBeInstanceOf(type);
        expect(e.message).toMatch(message);
      }
      gpu().flush();
      expect(ctx().lastTrace.filter((d) => d.kernel.startsWith('optimizers'))).toEqual([]);
    }
  });

  it('an update without gradients changes nothing, not even the step count', async () => {
    const opt = new Adam(cpu);
    const a = paramOn(cpu, [1]);
    a.grad = cpu.fromArray([1], [1]);
    const b = { ...paramOn(cpu, [2]), name: 'b' };
    expect(() => opt.update([a, b])).toThrow('Adam: b has no gradient');
    expect(opt.step).toBe(0);
    expect(Array.from(await cpu.read(a.value))).toEqual([1]);
  });
});

describe('state, loadState, createOptimizer', () => {
  it('a run restored from state() continues exactly as the uninterrupted one', async () => {
    const grads = [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2], [0.2, 0.2]];
    const whole = new Adam(cpu, 0.01);
    const pw = paramOn(cpu, [1, -1]);
    for (const g of grads) {
      pw.grad = cpu.fromArray(g, [2]);
      whole.update([pw]);
    }
    const first = new Adam(cpu, 0.01);
    const pf = paramOn(cpu, [1, -1]);
    for (const g of grads.slice(0, 2)) {
      pf.grad = cpu.fromArray(g, [2]);
      first.update([pf]);
    }
    const saved = await first.state();
    expect(Object.keys(saved.tensors).sort()).toEqual(['w.m', 'w.v']);
    const second = new Adam(cpu, 0.01);
    second.loadState(saved);
    expect(second.step).toBe(2);
    for (const g of grads.slice(2)) {
      pf.grad = cpu.fromArray(g, [2]);
      second.update([pf]);
    }
    // The state went through float32, so agreement is to float32 precision, not bit for bit.
    expectClose(await cpu.read(pf.value), await cpu.read(pw.value), 1e-7, 'resumed vs whole');
    expect(() => second.loadState({ step: 1, tensors: { 'w.q': new Float32Array(2) } })).toThrow("'w.q' is not <param>.m|v");
    expect(() => second.loadState({ step: 1, tensors: { 'w.m': new Float32Array(2) } })).toThrow('lacks w.v');
    expect(() => second.loadState({ step: 1, tensors: { 'w.m': new Float32Array(3), 'w.v': new Float32Array(3) } })).toThrow('has 3 values, the parameter 2');
  });

  it('creates each optimizer by name with the given lr and the book\'s other defaults', () => {
    const made = (['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'] as const).map((n) => createOptimizer(cpu, n, 0.05));
    expect(made.map((o) => o.name)).toEqual(['SGD', 'Momentum', 'Nesterov', 'AdaGrad', 'RMSprop', 'Adam']);
    expect(made.map((o) => (o as unknown as { lr: number }).lr)).toEqual([0.05, 0.05, 0.05, 0.05, 0.05, 0.05]);
    expect((made[1] as Momentum<Tensor>).momentum).toBe(0.9);
    expect((made[4] as RMSprop<Tensor>).decay).toBe(0.99);
    expect([(made[5] as Adam<Tensor>).beta1, (made[5] as Adam<Tensor>).beta2]).toEqual([0.9, 0.999]);
    expect(new Adam(cpu).lr).toBe(0.001);
    expect(made[0]).toBeInstanceOf(SGD);
  });
});

// ---------------------------------------------------------------------------------------------
// (4) Sanity: Adam trains a small net on a separable problem (no MNIST).
// ---------------------------------------------------------------------------------------------
describe('Adam trains a MultiLayerNet on a separable toy problem', () => {
  it.each(['cpu', 'gpu'] as const)('on the %s device', async (device) => {
    const be: Backend<Tensor> = device === 'gpu' ? gpu() : new CpuBackend('f32');
    // 64 points in 4-D, class = whether x0 + x1 - x2 > 0: linearly separable.
    const n = 64;
    const xs = randomArray(n * 4, 99, 1);
    const labels = Array.from({ length: n }, (_, i) => (xs[i * 4]! + xs[i * 4 + 1]! - xs[i * 4 + 2]! > 0 ? 1 : 0));
    const x = be.fromArray(xs, [n, 4]);
    const t = be.labels(labels, 2);
    const net = new MultiLayerNet(be, { inputSize: 4, hiddenSizes: [16], outputSize: 2, weightInit: 'he', seed: 3 });
    const lossOf = async () => {
      const l = net.loss(x, t);
      return (await be.read(l))[0]!;
    };
    const before = await lossOf();
    const opt = new Adam(be, 0.05);
    for (let i = 0; i < 60; i++) {
      net.gradient(x, t);
      opt.update(net.params());
    }
    be.flush();
    const after = await lossOf();
    expect(before).toBeGreaterThan(0.3);
    expect(after).toBeLessThan(before / 3);
    expect(await net.accuracy(x, t)).toBeGreaterThanOrEqual(0.95);
    opt.dispose();
    net.dispose();
    be.dispose(x, t);
  });
});
