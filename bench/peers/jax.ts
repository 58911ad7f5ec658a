/**
 * jax-js (@jax-js/jax) on its WebGPU backend, written as JAX's docs train an MLP: parameters in a
 * pytree, a pure loss function, and the whole SGD update (batch gather, forward, valueAndGrad,
 * p - lr·g) under one jit() so it compiles once and fuses; arrays passed by reference count
 * (.ref / tree.ref) as the jax-js README requires. Same data, weights and batches as ours.
 *
 * jax-js finds WebGPU through navigator.gpu: the page's, or in Node the one bench/cli/peers.ts
 * sets from Dawn on our adapter.
 */
import { defaultDevice, init, jit, nn, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import type { Mnist } from 'webgpu-backprop';
import { normalized } from '../lib/data.js';
import type { TrainingEngine } from '../lib/engine.js';
import type { InitialParams, ModelSpec } from '../lib/model.js';

type Params = { W1: np.Array; b1: np.Array; W2: np.Array; b2: np.Array };

const HOW =
  'init("webgpu") + defaultDevice("webgpu"); params pytree from our initial weights; jit((params, X, Y, idx) => valueAndGrad(loss)(params, X[idx], Y[idx]) then tree.map(p - lr·g)); ' +
  'loss = -mean(logSoftmax(relu(x·W1+b1)·W2+b2) · oneHot(t)); train set resident as a float32 array; loss read with loss.data(). ' +
  'jax-js defers dispatch until a value is read, so when syncing every 100 steps the whole window is dispatched at the read';

const predict = (p: Params, x: np.Array): np.Array => np.dot(nn.relu(np.dot(x, p.W1).add(p.b1)), p.W2).add(p.b2);

export async function jaxEngine(mnist: Mnist, start: InitialParams, spec: ModelSpec, batch: number): Promise<TrainingEngine> {
  const devices = await init('webgpu');
  if (!devices.includes('webgpu')) throw new Error('jax-js found no WebGPU device');
  defaultDevice('webgpu');
  const h = spec.hidden;
  const X = np.array(normalized(mnist.train)).reshape([mnist.train.count, 784]);
  const Y = np.array(Int32Array.from(mnist.train.labels), { dtype: np.int32 });
  let params: Params = {
    W1: np.array(start.W1).reshape([784, h]),
    b1: np.array(start.b1),
    W2: np.array(start.W2).reshape([h, 10]),
    b2: np.array(start.b2),
  };

  const loss = (p: Params, x: np.Array, t: np.Array): np.Array =>
    nn.logSoftmax(predict(p, x), -1).mul(nn.oneHot(t, 10)).sum().mul(-1 / batch);
  const update = jit((p: Params, xs: np.Array, ys: np.Array, idx: np.Array) => {
    const x = xs.slice(idx.ref);
    const t = ys.slice(idx);
    const [value, grads] = valueAndGrad(loss)(tree.ref(p), x, t);
    const next = tree.map((w: np.Array, g: np.Array) => w.sub(g.mul(spec.lr)), p, grads as Params);
    return [value, next] as [np.Array, Params];
  });
  const logits = jit(predict);
  let last: np.Array | null = null;

  return {
    name: 'jax-webgpu',
    label: 'jax-js 0.1.25, webgpu device',
    how: HOW,
    step(indices) {
      last?.dispose();
      const idx = np.array(Int32Array.from(indices), { dtype: np.int32 });
      [last, params] = update(params, X.ref, Y.ref, idx) as [np.Array, Params];
    },
    async readLoss() {
      if (!last) throw new Error('readLoss before any step');
      const value = last;
      last = null;
      return (await value.data())[0]!;
    },
    async testAccuracy() {
      const Xt = np.array(normalized(mnist.test)).reshape([mnist.test.count, 784]);
      const Yt = np.array(Int32Array.from(mnist.test.labels), { dtype: np.int32 });
      let correct = 0;
      for (let s = 0; s < mnist.test.count; s += 2000) {
        const e = Math.min(s + 2000, mnist.test.count);
        const scores = logits(tree.ref(params), Xt.ref.slice([s, e]));
        const hits = np.argmax(scores, 1).equal(Yt.ref.slice([s, e])).astype(np.int32).sum();
        correct += (await hits.data())[0]!;
      }
      Xt.dispose();
      Yt.dispose();
      return correct / mnist.test.count;
    },
    dispose() {
      last?.dispose();
      tree.dispose(params);
      X.dispose();
      Y.dispose();
      update.dispose();
      logits.dispose();
    },
  };
}
