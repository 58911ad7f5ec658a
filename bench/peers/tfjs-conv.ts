/**
 * TensorFlow.js 4.22 training the book's SimpleConvNet, written as TF.js's core API writes a
 * convnet (its MNIST example's layout: NHWC images, HWIO filters): tf.variable parameters,
 * tf.conv2d, tf.maxPool, tf.losses.softmaxCrossEntropy on one-hot labels, tf.variableGrads around
 * a loss closure. The update is the book's Adam written in TF.js ops (as TF.js's own optimizers
 * are, and about as many: ~12 elementwise ops a parameter); tf.train.adam adds ε to √v̂ where the
 * book adds it to √v, which moves the loss by ~1e-3 within four steps, far above float32
 * rounding, so the losses could not be held to ours. The training set is resident as one float32
 * tensor and each batch is gathered on the backend, as ours gathers on the GPU.
 *
 * The TF.js module comes in as an argument, because it is loaded differently in each place: the
 * bench page imports it (Vite bundles it), Node loads an esbuild bundle of it (TF.js's ES modules
 * do not load in Node as they are) with navigator.gpu from Dawn (bench/cli/peers.ts).
 */
import type * as TfModule from '@tensorflow/tfjs-core';
import type { ConvEngine, ConvTrainSet } from '../lib/conv-bench.js';
import { adamLrT, CONV_BETA1, CONV_BETA2, type ConvParams, type ConvSpec } from '../lib/conv-model.js';

export type Tf = typeof TfModule;
export type TfjsBackend = 'webgpu' | 'wasm' | 'cpu';

const HOW =
  'tf.variable params from our initial weights (filters transposed to HWIO, W2\'s rows permuted to NHWC flattening order: the same function); ' +
  'tf.variableGrads(() => softmaxCrossEntropy(oneHot(t), relu(maxPool(relu(conv2d(x, W1) + b1), 2, 2)·W2 + b2)·W3 + b3)) per step, then the book\'s Adam in TF.js ops under tidy ' +
  '(m += (1−β1)(g−m), v += (1−β2)(g²−v), p −= lr_t·m/(√v+1e-7), each by Variable.assign; tf.train.adam puts ε on √v̂ and trains measurably apart); ' +
  'train set resident as a float32 tensor, batch = reshape(tf.gather(x, indices), [n, 28, 28, 1]); loss read with cost.data(); every backend flag at its default';

/** Our filters [O, C, KH, KW] as TF.js's [KH, KW, C, O]. */
export function filtersHwio(w: Float32Array, o: number, c: number, kh: number, kw: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(w.length);
  for (let f = 0; f < o; f++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    out[((y * kw + x) * c + ch) * o + f] = w[((f * c + ch) * kh + y) * kw + x]!;
  }
  return out;
}

/**
 * W2's rows, which our net (and the book's) indexes by the pooled map flattened as NCHW
 * (c·H·W + h·W + w), reordered for an NHWC flattening ((h·W + w)·C + c): the same function of
 * the same pooled values.
 */
export function rowsNchwToNhwc(w: Float32Array, c: number, h: number, wd: number, cols: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(w.length);
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < wd; x++) {
    const from = (ch * h + y) * wd + x;
    const to = (y * wd + x) * c + ch;
    out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
  }
  return out;
}

/**
 * A SimpleConvNet engine on one TF.js backend. Several engines (one per backend) can live in one
 * process: `activate` makes this engine's backend the current one before each of its steps.
 */
export async function tfjsConvEngine(tf: Tf, backend: TfjsBackend, train: ConvTrainSet, init: ConvParams, spec: ConvSpec): Promise<ConvEngine> {
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js could not initialize its ${backend} backend`);
  await tf.ready();
  const n = spec.batch;
  const [filters, pooledSide, hidden, classes] = [30, 12, 100, 10];
  const x = tf.tensor2d(train.x, [train.count, 784]);
  const y = tf.tensor1d(Int32Array.from(train.labels), 'int32');
  const W1 = tf.variable(tf.tensor4d(filtersHwio(init.W1, filters, 1, 5, 5), [5, 5, 1, filters]));
  const b1 = tf.variable(tf.tensor1d(init.b1));
  const W2 = tf.variable(tf.tensor2d(rowsNchwToNhwc(init.W2, filters, pooledSide, pooledSide, hidden), [filters * pooledSide * pooledSide, hidden]));
  const b2 = tf.variable(tf.tensor1d(init.b2));
  const W3 = tf.variable(tf.tensor2d(init.W3, [hidden, classes]));
  const b3 = tf.variable(tf.tensor1d(init.b3));
  const predict = (images: TfModule.Tensor4D) => {
    const conv = tf.relu(tf.add(tf.conv2d(images, W1 as TfModule.Tensor4D, 1, 'valid'), b1)) as TfModule.Tensor4D;
    const pooled = tf.reshape(tf.maxPool(conv, 2, 2, 'valid'), [images.shape[0], filters * pooledSide * pooledSide]);
    return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(pooled, W2), b2)), W3), b3);
  };
  const vars = { W1, b1, W2, b2, W3, b3 };
  const moments = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { m: tf.variable(tf.zerosLike(v), false), v: tf.variable(tf.zerosLike(v), false) }]));
  let t = 0;
  let cost: TfModule.Scalar | null = null;
  const flags = backend === 'wasm' ? `, threads: ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'yes' : 'no'}, simd: ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'yes' : 'no'}` : '';
  return {
    name: `tfjs-${backend}`,
    label: `TensorFlow.js ${tf.version_core}, ${tf.getBackend()} backend${flags}`,
    how: HOW,
    async activate() {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
    },
    step(indices) {
      if (tf.getBackend() !== backend) throw new Error(`tfjs-${backend}: the current backend is ${tf.getBackend()}; activate() first`);
      cost?.dispose();
      cost = null;
      const { value, grads } = tf.variableGrads(() => {
        const idx = tf.tensor1d(Int32Array.from(indices), 'int32');
        const images = tf.reshape(tf.gather(x, idx), [n, 28, 28, 1]) as TfModule.Tensor4D;
        const labels = tf.oneHot(tf.gather(y, idx) as TfModule.Tensor1D, classes);
        return tf.losses.softmaxCrossEntropy(labels, predict(images)) as TfModule.Scalar;
      }, Object.values(vars));
      t += 1;
      const lrT = adamLrT(spec.lr, t);
      tf.tidy(() => {
        for (const [name, p] of Object.entries(vars)) {
          const g = grads[p.name]!;
          const { m, v } = moments[name]!;
          m.assign(tf.add(m, tf.mul(tf.sub(g, m), 1 - CONV_BETA1)));
          v.assign(tf.add(v, tf.mul(tf.sub(tf.square(g), v), 1 - CONV_BETA2)));
          p.assign(tf.sub(p, tf.div(tf.mul(m, lrT), tf.add(tf.sqrt(v), 1e-7))));
        }
      });
      tf.dispose(grads);
      cost = value;
    },
    async readLoss() {
      if (!cost) throw new Error(`tfjs-${backend}: readLoss before any step`);
      return (await cost.data())[0]!;
    },
    dispose() {
      tf.dispose([cost ?? [], x, y, ...Object.values(vars), ...Object.values(moments).flatMap(({ m, v }) => [m, v])]);
    },
  };
}
