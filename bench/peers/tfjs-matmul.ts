/**
 * TensorFlow.js 4.22's webgpu backend as a MatmulEngine: `tf.matMul` of two resident float32
 * tensors, every backend flag at its default. Only core and the webgpu backend are loaded.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { adapterInfoLine, type MatmulEngineSource } from '../lib/matmul-engine.js';

export async function tfjsMatmulSource(): Promise<MatmulEngineSource> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js could not initialize its webgpu backend');
  await tf.ready();
  const backend = tf.backend() as WebGPUBackend;
  return {
    label: `TensorFlow.js ${tf.version_core}, ${tf.getBackend()} backend, tf.matMul`,
    adapter: adapterInfoLine(backend.device.adapterInfo),
    async open(n, A, B) {
      const a = tf.tensor2d(A, [n, n]);
      const b = tf.tensor2d(B, [n, n]);
      let last: tf.Tensor | undefined;
      return {
        name: 'tfjs-webgpu',
        enqueue() {
          // Disposing a result whose product is still queued is safe: TF.js frees it after the submit.
          last?.dispose();
          last = tf.matMul(a, b);
        },
        async finish() {
          if (!last) return;
          // Reading one entry of the last product submits TF.js's queued work and waits for all of it
          // (one queue, in order), at the cost of a 1×1 slice and a 4-byte readback.
          const one = tf.slice(last, [0, 0], [1, 1]);
          await one.data();
          one.dispose();
        },
        async product() {
          const c = tf.matMul(a, b);
          const values = (await c.data()) as Float32Array;
          c.dispose();
          return values;
        },
        dispose() {
          tf.dispose([a, b, last ?? []]);
          last = undefined;
        },
      };
    },
  };
}
