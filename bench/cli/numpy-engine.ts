/**
 * The book's NumPy SimpleConvNet (bench/peers/numpy_convnet.py) as a conv engine: one python3
 * process that trains on the batches written for it, one step per "step" line, so its steps
 * interleave with the other engines'. The timer in the bench brackets the request and the answer
 * (a pipe's round trip, ~0.1 ms, against a step of tens of ms).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MnistSplit } from 'webgpu-backprop';
import type { ConvEngine } from '../lib/conv-bench.js';
import { CONV_BETA1, CONV_BETA2, CONV_PARAMS, type ConvParams, type ConvSpec } from '../lib/conv-model.js';

// In a checkout bench/peers/; beside the bench bundle (bench/bundle.mjs copies it there) on a machine without one.
const BESIDE = fileURLToPath(new URL('./peers/numpy_convnet.py', import.meta.url));
const SCRIPT = existsSync(BESIDE) ? BESIDE : fileURLToPath(new URL('../peers/numpy_convnet.py', import.meta.url));
const READY_TIMEOUT_MS = 60_000;

const HOW =
  'bench/peers/numpy_convnet.py: the book\'s im2col, col2im, Convolution, Pooling, Affine, Relu, SoftmaxWithLoss and Adam, every array float32, ' +
  'in one python3 process fed each batch\'s rows; NumPy\'s BLAS with its default threads (the same two cores), which sleep between calls (OPENBLAS_THREAD_TIMEOUT=4) instead of spinning into the next engine\'s step; as in the book, the first convolution also computes the data gradient';

/** Why NumPy cannot run here, or null when python3 imports it. */
export function numpyMissing(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import numpy'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return `numpy not available (${python}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return `numpy not available (${python}: ${r.stderr.trim().split('\n').at(-1)})`;
  return null;
}

export async function numpyConvEngine(split: MnistSplit, init: ConvParams, spec: ConvSpec, batches: readonly Uint32Array[], python = process.env.PYTHON ?? 'python3'): Promise<ConvEngine> {
  const missing = numpyMissing(python);
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'bench-numpy-'));
  const pixels = split.rows * split.cols;
  try {
    const x = new Float32Array(batches.length * spec.batch * pixels);
    const t = new Uint8Array(batches.length * spec.batch);
    batches.forEach((rows, s) => {
      if (rows.length !== spec.batch) throw new RangeError(`numpy engine: batch ${s} has ${rows.length} rows, not ${spec.batch}`);
      rows.forEach((row, i) => {
        const at = (s * spec.batch + i) * pixels;
        for (let p = 0; p < pixels; p++) x[at + p] = split.pixels[row * pixels + p]! / 255;
        t[s * spec.batch + i] = split.labels[row]!;
      });
    });
    const params = new Float32Array(CONV_PARAMS.reduce((n, [name]) => n + init[name].length, 0));
    let offset = 0;
    for (const [name] of CONV_PARAMS) {
      params.set(init[name], offset);
      offset += init[name].length;
    }
    const meta = { batch: spec.batch, steps: batches.length, lr: spec.lr, beta1: CONV_BETA1, beta2: CONV_BETA2, params: CONV_PARAMS };
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
    writeFileSync(join(dir, 'params.f32'), new Uint8Array(params.buffer));
    writeFileSync(join(dir, 'x.f32'), new Uint8Array(x.buffer));
    writeFileSync(join(dir, 't.u8'), t);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  // OpenBLAS's threads spin for ~2^28 cycles after every call before they sleep (measured here:
  // ~0.13 s of CPU after one product). In a bench whose engines take turns on two cores, that
  // spinning lands in the next engine's step: ours-gpu's step ran ~1.3x slower right after
  // NumPy's. At the minimum timeout (2^4 cycles) they sleep at once; NumPy's own step pays a
  // thread wake-up per BLAS call. A value the user set is kept.
  const env = { ...process.env, OPENBLAS_THREAD_TIMEOUT: process.env.OPENBLAS_THREAD_TIMEOUT ?? '4' };
  const child = spawn(python, [SCRIPT, dir], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-2000)));
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  const queued: string[] = [];
  let exited: string | null = null;
  lines.on('line', (line) => (waiting.length ? waiting.shift()!(line) : queued.push(line)));
  const ended = new Promise<never>((_, reject) => {
    child.on('error', (e) => reject(new Error(`numpy engine: ${e.message}`)));
    child.on('exit', (code) => {
      exited = `python exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      reject(new Error(`numpy engine: ${exited}`));
    });
  });
  ended.catch(() => {});
  const nextLine = (timeoutMs = 0): Promise<string> => {
    if (queued.length) return Promise.resolve(queued.shift()!);
    if (exited) return Promise.reject(new Error(`numpy engine: ${exited}`));
    const line = new Promise<string>((resolve) => waiting.push(resolve));
    if (!timeoutMs) return Promise.race([line, ended]);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`numpy engine: no answer in ${timeoutMs / 1000} s`)), timeoutMs)));
    return Promise.race([line, ended, late]).finally(() => clearTimeout(timer));
  };
  const close = () => {
    if (exited === null) {
      child.stdin.end('quit\n');
      child.kill();
    }
    rmSync(dir, { recursive: true, force: true });
  };

  let version: string;
  try {
    const ready = await nextLine(READY_TIMEOUT_MS);
    const m = /^ready (\S+) (\S+)/.exec(ready);
    if (!m) throw new Error(`numpy engine: expected "ready", got ${JSON.stringify(ready)}`);
    version = `NumPy ${m[1]} (${m[2]})`;
  } catch (e) {
    close();
    throw e;
  }

  let next = 0;
  let pending: Promise<string> | null = null;
  return {
    name: 'numpy',
    label: `${version}, float32, ${python}`,
    how: HOW,
    step(indices) {
      const expected = batches[next];
      if (!expected || expected.length !== indices.length || expected.some((row, i) => row !== indices[i])) {
        throw new Error(`numpy engine: step ${next + 1} asked for a batch other than the one written for it`);
      }
      next += 1;
      pending = nextLine();
      child.stdin.write('step\n');
    },
    async readLoss() {
      if (!pending) throw new Error('numpy engine: readLoss before any step');
      const line = await pending;
      pending = null;
      const m = /^loss (\S+) \S+$/.exec(line);
      if (!m) throw new Error(`numpy engine: ${line}`);
      return Number(m[1]);
    },
    dispose: close,
  };
}
