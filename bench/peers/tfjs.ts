/**
 * TensorFlow.js 4.22 (core + the webgpu, wasm and cpu backends) training the same TwoLayerNet,
 * written as its core-API MNIST example does: tf.variable parameters, tf.train.sgd and
 * optimizer.minimize around a loss closure (which runs under tidy), tf.losses.softmaxCrossEntropy
 * on one-hot labels. The data set is uploaded once as tensors and each batch is gathered on the
 * backend with tf.gather, as ours gathers on the GPU.
 *
 * The TF.js module comes in as an argument, as in tfjs-conv.ts: the bench page imports it
 * (bench/page/tfjs-peer.ts, with the wasm binaries as Vite serves them), Node loads an esbuild
 * bundle of it with navigator.gpu from Dawn (bench/cli/peers.ts). The caller has set the wasm
 * backend's paths.
 */
import type * as TfModule from '@tensorflow/tfjs-core';
import type { Mnist, MnistSplit } from 'webgpu-backprop';
import { normalized } from '../lib/data.js';
import type { TrainingEngine } from '../lib/engine.js';
import type { InitialParams, ModelSpec } from '../lib/model.js';
import type { Tf, TfjsBackend } from './tfjs-conv.js';

const HOW =
  'tf.variable params from our initial weights; tf.train.sgd(lr).minimize(() => softmaxCrossEntropy(oneHot(t), relu(x·W1+b1)·W2+b2), returnCost) per step; ' +
  'train set resident as a float32 tensor, batch = tf.gather(x, tf.tensor1d(indices)); loss read with cost.data(); every backend flag at its default';

function asTensors(tf: Tf, split: MnistSplit) {
  return {
    x: tf.tensor2d(normalized(split), [split.count, split.rows * split.cols]),
    y: tf.tensor1d(Int32Array.from(split.labels), 'int32'),
  };
}

export async function tfjsEngine(tf: Tf, backend: TfjsBackend, mnist: Mnist, init: InitialParams, spec: ModelSpec): Promise<TrainingEngine> {
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js could not initialize its ${backend} backend`);
  await tf.ready();

  const h = spec.hidden;
  const train = asTensors(tf, mnist.train);
  const W1 = tf.variable(tf.tensor2d(init.W1, [784, h]), true, 'W1');
  const b1 = tf.variable(tf.tensor1d(init.b1), true, 'b1');
  const W2 = tf.variable(tf.tensor2d(init.W2, [h, 10]), true, 'W2');
  const b2 = tf.variable(tf.tensor1d(init.b2), true, 'b2');
  const predict = (x: TfModule.Tensor2D) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, W1), b1)), W2), b2);
  const optimizer = tf.train.sgd(spec.lr);
  let cost: TfModule.Scalar | null = null;

  const flags = backend === 'wasm' ? `, threads: ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'yes' : 'no'}, simd: ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'yes' : 'no'}` : '';
  return {
    name: `tfjs-${backend}`,
    label: `TensorFlow.js ${tf.version_core}, ${tf.getBackend()} backend${flags}`,
    how: HOW,
    step(indices) {
      cost?.dispose();
      cost = optimizer.minimize(() => {
        const idx = tf.tensor1d(Int32Array.from(indices), 'int32');
        const x = tf.gather(train.x, idx) as TfModule.Tensor2D;
        const t = tf.oneHot(tf.gather(train.y, idx) as TfModule.Tensor1D, 10);
        return tf.losses.softmaxCrossEntropy(t, predict(x)) as TfModule.Scalar;
      }, true);
    },
    async readLoss() {
      if (!cost) throw new Error('readLoss before any step');
      return (await cost.data())[0]!;
    },
    async testAccuracy() {
      const test = asTensors(tf, mnist.test);
      let correct = 0;
      for (let start = 0; start < mnist.test.count; start += 2000) {
        const n = Math.min(2000, mnist.test.count - start);
        const count = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(predict(tf.slice(test.x, [start, 0], [n, 784])), 1), tf.slice(test.y, start, n)), 'int32')));
        correct += (await count.data())[0]!;
        count.dispose();
      }
      tf.dispose([test.x, test.y]);
      return correct / mnist.test.count;
    },
    dispose() {
      tf.dispose([cost ?? [], train.x, train.y, W1, b1, W2, b2]);
      optimizer.dispose();
    },
  };
}
