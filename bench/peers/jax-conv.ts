/**
 * jax-js (@jax-js/jax) training the book's SimpleConvNet on its WebGPU device, written as JAX
 * writes one: parameters and Adam's moments in pytrees, a pure loss (lax.conv in NCHW/OIHW, the
 * 2x2 max pool as a reshape and a max over the window axes, -mean(logSoftmax · oneHot)), and the
 * whole step (batch gather, valueAndGrad, the book's Adam update) under one jit() so it compiles
 * once and fuses; arrays passed by reference count (.ref / tree.ref) as the jax-js README
 * requires. The step size lr_t of update t goes in as an array, so the step compiles once.
 *
 * jax-js finds WebGPU through navigator.gpu: the page's, or in Node the one bench/cli/peers.ts
 * sets from Dawn.
 */
import { defaultDevice, init, jit, lax, nn, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import type { ConvEngine, ConvTrainSet } from '../lib/conv-bench.js';
import { adamLrT, CONV_BETA1, CONV_BETA2, CONV_PARAMS, type ConvParamName, type ConvParams, type ConvSpec } from '../lib/conv-model.js';

type Tree = Record<ConvParamName, np.Array>;

const HOW =
  'init("webgpu") + defaultDevice("webgpu"); params and Adam moments in pytrees from our initial weights; ' +
  'jit((params, m, v, lr_t, X, Y, idx) => valueAndGrad(loss)(params, X[idx], Y[idx]) then the book\'s Adam: m += (1−β1)(g−m), v += (1−β2)(g²−v), p −= lr_t·m/(√v+1e-7)); ' +
  'loss = -mean(logSoftmax(relu(relu(maxpool(lax.conv(x, W1, VALID) + b1))·W2 + b2)·W3 + b3) · oneHot(t)), max pool = reshape [n,30,12,2,12,2] and max over the 2x2 axes; ' +
  'train set resident as a float32 array; loss read with loss.data(). jax-js defers dispatch until a value is read';

const predict = (p: Tree, x: np.Array, n: number): np.Array => {
  const conv = nn.relu(lax.conv(x, p.W1, [1, 1], 'VALID').add(p.b1.reshape([1, 30, 1, 1])));
  const pooled = conv.reshape([n, 30, 12, 2, 12, 2]).max([3, 5]).reshape([n, 4320]);
  const hidden = nn.relu(np.dot(pooled, p.W2).add(p.b2));
  return np.dot(hidden, p.W3).add(p.b3);
};

export async function jaxConvEngine(train: ConvTrainSet, start: ConvParams, spec: ConvSpec): Promise<ConvEngine> {
  const devices = await init('webgpu');
  if (!devices.includes('webgpu')) throw new Error('jax-js found no WebGPU device');
  defaultDevice('webgpu');
  const n = spec.batch;
  const X = np.array(train.x).reshape([train.count, 1, 28, 28]);
  const Y = np.array(Int32Array.from(train.labels), { dtype: np.int32 });
  const fromArrays = (f: (name: ConvParamName, shape: readonly number[]) => np.Array) =>
    Object.fromEntries(CONV_PARAMS.map(([name, shape]) => [name, f(name, shape)])) as Tree;
  let params = fromArrays((name, shape) => np.array(start[name]).reshape([...shape]));
  let m = fromArrays((_, shape) => np.zeros([...shape]));
  let v = fromArrays((_, shape) => np.zeros([...shape]));

  const loss = (p: Tree, x: np.Array, t: np.Array): np.Array =>
    nn.logSoftmax(predict(p, x, n), -1).mul(nn.oneHot(t, 10)).sum().mul(-1 / n);
  const update = jit((p: Tree, m0: Tree, v0: Tree, lrT: np.Array, xs: np.Array, ys: np.Array, idx: np.Array) => {
    const x = xs.slice(idx.ref);
    const t = ys.slice(idx);
    const [value, grads] = valueAndGrad(loss)(tree.ref(p), x, t) as [np.Array, Tree];
    const next = {} as Tree;
    const m1 = {} as Tree;
    const v1 = {} as Tree;
    for (const [name] of CONV_PARAMS) {
      const g = grads[name];
      m1[name] = m0[name].ref.add(g.ref.sub(m0[name]).mul(1 - CONV_BETA1));
      v1[name] = v0[name].ref.add(g.ref.mul(g).sub(v0[name]).mul(1 - CONV_BETA2));
      next[name] = p[name].sub(m1[name].ref.mul(lrT.ref).div(np.sqrt(v1[name].ref).add(1e-7)));
    }
    lrT.dispose();
    return [value, next, m1, v1] as [np.Array, Tree, Tree, Tree];
  });
  let t = 0;
  let last: np.Array | null = null;

  return {
    name: 'jax-webgpu',
    label: 'jax-js 0.1.25, webgpu device',
    how: HOW,
    step(indices) {
      last?.dispose();
      t += 1;
      const idx = np.array(Int32Array.from(indices), { dtype: np.int32 });
      const lrT = np.array(Float32Array.of(adamLrT(spec.lr, t)));
      [last, params, m, v] = update(params, m, v, lrT.reshape([]), X.ref, Y.ref, idx) as [np.Array, Tree, Tree, Tree];
    },
    async readLoss() {
      if (!last) throw new Error('jax-webgpu: readLoss before any step');
      const value = last;
      last = null;
      return (await value.data())[0]!;
    },
    dispose() {
      last?.dispose();
      tree.dispose([params, m, v]);
      X.dispose();
      Y.dispose();
      update.dispose();
    },
  };
}
