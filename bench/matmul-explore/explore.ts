/**
 * Matmul kernel exploration harness for SwiftShader (or whatever adapter Dawn offers).
 *
 *   node --import ./tools/register.mjs bench/matmul-explore/explore.ts [options]
 *     --cands a,b,c     candidate names or substrings (default: the built-in list)
 *     --shapes s1,s2    shape keys from SHAPES (default: all)
 *     --reps N          interleaved repeats per measurement (default 5)
 *     --target-ms T     approximate wall time of one measurement (default 150)
 *     --no-check        skip the correctness pass
 *     --check-only      only the correctness pass
 *     --dump NAME       print the WGSL of one candidate and exit
 *
 * Correctness: every candidate is compared with a float64 CPU reference at awkward shapes with
 * all four transpose combinations, plus bias and each activation; the error is reported
 * relative to K (max |gpu - ref| / K) and must stay under 1e-5.
 * Timing: R dispatches recorded into one compute pass, one submit, await
 * onSubmittedWorkDone, divide by R; one warm-up; median of --reps repeats, the candidates
 * interleaved within each repeat so load from other processes hits them alike.
 */
import { readFileSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { type Cfg, cfgName, fold1d, generate, workgroupsFor } from './gen.js';

Object.assign(globalThis, globals);
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

// ---------------------------------------------------------------- candidates
interface Cand {
  name: string;
  code: string;
  entry: string;
  wg: (M: number, N: number) => [number, number, number];
}

const here = new URL('.', import.meta.url);
const current = readFileSync(new URL('../../shaders/matmul.wgsl', here), 'utf8');

function baseline(block: 4 | 8): Cand {
  const code = block === 4 ? current
    : current.replace('const TM: u32 = 4u;', 'const TM: u32 = 8u;').replace('const TN: u32 = 4u;', 'const TN: u32 = 8u;');
  return {
    name: `cur${block}`,
    code,
    entry: 'matmul_blocked',
    wg: (M, N) => [Math.ceil(N / (8 * block)), Math.ceil(M / (8 * block)), 1],
  };
}

function gen(o: Partial<Omit<Cfg, 'name'>>): Cand {
  const base: Omit<Cfg, 'name'> = { tm: 8, tn: 8, ku: 1, acc: 'scalar', fma: false, layout: '2d', wgx: 8, wgy: 8, idx: 'inc' };
  const c0 = { ...base, ...o };
  const cfg: Cfg = { ...c0, name: cfgName(c0) };
  return { name: cfg.name, code: generate(cfg), entry: 'matmul_blocked', wg: (M, N) => workgroupsFor(cfg, M, N) };
}

/** Inverse of cfgName: '8x16s_k2_mad_wg16' or '8x8v_k1_fma_wg8x8_mul'. */
function parseName(n: string): Omit<Cfg, 'name'> | null {
  const m = /^(\d+)x(\d+)([sv])_k(\d+)(f?)_(fma|mad)_wg(\d+)(?:x(\d+))?(_mul)?(_col|_row)?$/.exec(n);
  if (!m) return null;
  return { tm: +m[1]!, tn: +m[2]!, acc: m[3] === 'v' ? 'vec4' : 'scalar', ku: +m[4]!, fuse: m[5] === 'f', fma: m[6] === 'fma',
    layout: m[8] ? '2d' : '1d', wgx: +m[7]!, wgy: m[8] ? +m[8] : 1, idx: m[9] ? 'mul' : 'inc', ord: m[10] ? (m[10].slice(1) as 'col' | 'row') : 'xy' };
}

/** Dispatch-overhead floor: same bindings and geometry as an 8x8 / 16-wide candidate, no work. */
const NOOP: Cand = {
  name: 'noop',
  code: generate({ name: 'noop', tm: 1, tn: 1, ku: 1, acc: 'scalar', fma: false, layout: '1d', wgx: 16, wgy: 1, idx: 'inc' })
    .replace(/let K = p.K;/, 'let K = 0u;'),
  entry: 'matmul_blocked',
  wg: (M, N) => [Math.ceil((Math.ceil(M / 8) * Math.ceil(N / 8)) / 16), 1, 1],
};

const BEST_FILE = new URL('./best.wgsl', here);

function allCands(): Cand[] {
  const list: Cand[] = [baseline(4), baseline(8)];
  // stage 1: block shape, fma vs mad, accumulator style, k unroll
  for (const [tm, tn] of [[4, 4], [4, 8], [8, 4], [8, 8]] as const) {
    for (const fma of [false, true]) list.push(gen({ tm, tn, fma }));
  }
  list.push(gen({ tm: 8, tn: 8, acc: 'vec4' }));
  list.push(gen({ tm: 4, tn: 4, acc: 'vec4' }));
  list.push(gen({ tm: 8, tn: 8, idx: 'mul' }));
  for (const ku of [2, 4]) {
    list.push(gen({ tm: 8, tn: 8, ku }));
    list.push(gen({ tm: 4, tn: 4, ku }));
    list.push(gen({ tm: 4, tn: 8, ku }));
  }
  // bigger blocks
  list.push(gen({ tm: 8, tn: 12 }));
  list.push(gen({ tm: 12, tn: 8 }));
  list.push(gen({ tm: 8, tn: 16 }));
  list.push(gen({ tm: 16, tn: 8 }));
  // workgroup geometry
  for (const [tm, tn] of [[4, 4], [8, 8], [4, 8]] as const) {
    for (const wgx of [16, 32, 64, 128, 256]) list.push(gen({ tm, tn, layout: '1d', wgx, wgy: 1 }));
    list.push(gen({ tm, tn, wgx: 4, wgy: 4 }));
    list.push(gen({ tm, tn, wgx: 16, wgy: 16 }));
    list.push(gen({ tm, tn, wgx: 4, wgy: 16 }));
    list.push(gen({ tm, tn, wgx: 16, wgy: 4 }));
  }
  try {
    const code = readFileSync(BEST_FILE, 'utf8');
    const m = /workgroup_size\((\d+)\)/.exec(code);
    const t = /const TM: u32 = (\d+)u;\s*const TN: u32 = (\d+)u;/.exec(code);
    if (m && t) {
      const wgx = +m[1]!, tm = +t[1]!, tn = +t[2]!;
      const total = (M: number, N: number) => Math.ceil((Math.ceil(M / tm) * Math.ceil(N / tn)) / wgx);
      list.push({ name: 'best.wgsl', code, entry: 'matmul_blocked', wg: (M, N) => fold1d(total(M, N)) });
      // the same kernel with the grid folded into y at a tiny limit, to check the fold path
      list.push({ name: 'best.wgsl-folded', code, entry: 'matmul_blocked', wg: (M, N) => fold1d(total(M, N), 3) });
    }
  } catch { /* not written yet */ }
  return list;
}

// ---------------------------------------------------------------- shapes
interface Shape { key: string; M: number; N: number; K: number; ta: boolean; tb: boolean }
const SHAPES: Shape[] = [
  { key: 'fc1', M: 100, N: 50, K: 784, ta: false, tb: false },
  { key: 'dW1', M: 784, N: 50, K: 100, ta: true, tb: false },
  { key: 'fc2', M: 100, N: 10, K: 50, ta: false, tb: false },
  { key: 'dW2', M: 50, N: 10, K: 100, ta: true, tb: false },
  { key: 'dx2', M: 100, N: 50, K: 10, ta: false, tb: true },
  { key: 'sq512', M: 512, N: 512, K: 512, ta: false, tb: false },
  { key: 'sq1024', M: 1024, N: 1024, K: 1024, ta: false, tb: false },
];

// ---------------------------------------------------------------- args
const argv = process.argv.slice(2);
const arg = (k: string) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
const has = (k: string) => argv.includes(k);
const reps = Number(arg('--reps') ?? 5);
const targetMs = Number(arg('--target-ms') ?? 150);

let cands = allCands();
const sel = arg('--cands');
if (sel) {
  const want = sel.split(',');
  cands = want.flatMap((w) => {
    const exact = cands.filter((c) => c.name === w);
    if (w === 'noop') return [NOOP];
    const parsed = parseName(w);
    if (!exact.length && parsed) return [gen(parsed)];
    return exact.length ? exact : cands.filter((c) => c.name.includes(w));
  });
  cands = [...new Map(cands.map((c) => [c.name, c])).values()];
}
if (has('--write-best')) {
  const p = parseName(arg('--write-best')!);
  if (!p) throw new Error('--write-best needs a generated candidate name');
  const c = gen(p);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(BEST_FILE, c.code);
  console.log(`wrote ${BEST_FILE.pathname} (${c.name})`);
  process.exit(0);
}
if (has('--dump')) {
  const w = arg('--dump')!; const pn = parseName(w); const c = pn ? gen(pn) : allCands().find((x) => x.name === w);
  console.log(c ? c.code : 'no such candidate');
  process.exit(0);
}
const shapeSel = arg('--shapes');
const shapes = shapeSel ? SHAPES.filter((s) => shapeSel.split(',').includes(s.key)) : SHAPES;

// ---------------------------------------------------------------- device
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) throw new Error('no adapter');
const device = await adapter.requestDevice();
console.log(`adapter: ${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.device} ${adapter.info.description}`);
device.addEventListener?.('uncapturederror', (ev: any) => console.error('uncaptured:', ev.error?.message));

const U = GPUBufferUsage;
function buf(data: Float32Array | Uint32Array, usage: number): GPUBuffer {
  const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage: usage | U.COPY_DST });
  device.queue.writeBuffer(b, 0, data);
  return b;
}

const pipeCache = new Map<string, GPUComputePipeline>();
const modCache = new Map<string, GPUShaderModule>();
async function pipeline(c: Cand, ta: boolean, tb: boolean, hasBias: boolean, act: number): Promise<GPUComputePipeline> {
  const key = `${c.name}|${ta}|${tb}|${hasBias}|${act}`;
  let p = pipeCache.get(key);
  if (p) return p;
  let mod = modCache.get(c.name);
  if (!mod) {
    mod = device.createShaderModule({ code: c.code });
    const info = await mod.getCompilationInfo();
    for (const m of info.messages) if (m.type === 'error') throw new Error(`${c.name}: ${m.lineNum}:${m.linePos} ${m.message}`);
    modCache.set(c.name, mod);
  }
  device.pushErrorScope('validation');
  p = await device.createComputePipelineAsync({
    layout: 'auto',
    compute: { module: mod, entryPoint: c.entry, constants: { TRANS_A: ta ? 1 : 0, TRANS_B: tb ? 1 : 0, HAS_BIAS: hasBias ? 1 : 0, ACTIVATION: act } },
  });
  const err = await device.popErrorScope();
  if (err) throw new Error(`${c.name}: ${err.message}`);
  pipeCache.set(key, p);
  return p;
}

interface Bound { pipe: GPUComputePipeline; bg: GPUBindGroup; wg: [number, number, number]; out: GPUBuffer; outBytes: number }
async function bind(c: Cand, s: { M: number; N: number; K: number; ta: boolean; tb: boolean }, bufs: { a: GPUBuffer; b: GPUBuffer; bias: GPUBuffer; c: GPUBuffer },
  hasBias = false, act = 0): Promise<Bound> {
  const pipe = await pipeline(c, s.ta, s.tb, hasBias, act);
  const params = buf(new Uint32Array([s.M, s.N, s.K, 0]), U.UNIFORM);
  const bg = device.createBindGroup({
    layout: pipe.getBindGroupLayout(0),
    entries: [params, bufs.a, bufs.b, bufs.bias, bufs.c].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return { pipe, bg, wg: c.wg(s.M, s.N), out: bufs.c, outBytes: s.M * s.N * 4 };
}

function rand(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; a[i] = ((x >>> 0) / 4294967296) * 2 - 1; }
  return a;
}

function reference(a: Float32Array, b: Float32Array, bias: Float32Array | null, act: number, s: { M: number; N: number; K: number; ta: boolean; tb: boolean }): Float64Array {
  const { M, N, K, ta, tb } = s;
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let acc = 0;
    for (let k = 0; k < K; k++) acc += (ta ? a[k * M + m]! : a[m * K + k]!) * (tb ? b[n * K + k]! : b[k * N + n]!);
    if (bias) acc += bias[n]!;
    if (act === 1) acc = Math.max(acc, 0);
    if (act === 2) acc = 1 / (1 + Math.exp(-acc));
    out[m * N + n] = acc;
  }
  return out;
}

async function readBack(b: GPUBuffer, bytes: number): Promise<Float32Array> {
  const rb = device.createBuffer({ size: bytes, usage: U.COPY_DST | U.MAP_READ });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b, 0, rb, 0, bytes);
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(rb.getMappedRange().slice(0));
  rb.unmap();
  rb.destroy();
  return out;
}

let lastCpu = 0;
async function run(bd: Bound, times: number): Promise<number> {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(bd.pipe);
  pass.setBindGroup(0, bd.bg);
  for (let i = 0; i < times; i++) pass.dispatchWorkgroups(...bd.wg);
  pass.end();
  const cmd = enc.finish();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  device.queue.submit([cmd]);
  await device.queue.onSubmittedWorkDone();
  const t = performance.now() - t0;
  const c = process.cpuUsage(c0);
  lastCpu = (c.user + c.system) / 1000;
  return t;
}

// ---------------------------------------------------------------- correctness
const CHECK_SHAPES: [number, number, number][] = [[1, 1, 1], [7, 65, 63], [100, 50, 784], [65, 7, 1000], [13, 9, 3], [33, 17, 5]];
async function check(c: Cand): Promise<number> {
  let worst = 0;
  let idx = 0;
  for (const [M, N, K] of CHECK_SHAPES) {
    for (const ta of [false, true]) for (const tb of [false, true]) {
      const act = idx % 3;
      const withBias = idx % 2 === 1;
      idx++;
      const s = { M, N, K, ta, tb };
      const a = rand(M * K, 1 + idx), b = rand(K * N, 100 + idx), bias = rand(N, 200 + idx);
      const bufs = { a: buf(a, U.STORAGE), b: buf(b, U.STORAGE), bias: buf(bias, U.STORAGE), c: buf(new Float32Array(M * N).fill(NaN), U.STORAGE | U.COPY_SRC) };
      const bd = await bind(c, s, bufs, withBias, act);
      await run(bd, 1);
      const got = await readBack(bufs.c, M * N * 4);
      const ref = reference(a, b, withBias ? bias : null, act, s);
      let err = 0;
      for (let i = 0; i < M * N; i++) err = Math.max(err, Math.abs(got[i]! - ref[i]!));
      err = Number.isNaN(err) || got.some((x) => Number.isNaN(x)) ? Infinity : err / K;
      worst = Math.max(worst, err);
      for (const x of Object.values(bufs)) x.destroy();
    }
  }
  return worst;
}

if (!has('--no-check')) {
  const bad: string[] = [];
  for (const c of cands) {
    if (c.name === 'noop') continue;
    const e = await check(c);
    const ok = e < 1e-5;
    if (!ok) bad.push(c.name);
    console.log(`check ${c.name.padEnd(32)} max|err|/K = ${e.toExponential(2)} ${ok ? 'ok' : 'FAIL'}`);
  }
  cands = cands.filter((c) => !bad.includes(c.name));
}
if (has('--check-only')) { device.destroy(); process.exit(0); }

// ---------------------------------------------------------------- timing
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };
const results: Record<string, Record<string, number>> = {};
const mins: Record<string, Record<string, number>> = {};
const cpus: Record<string, Record<string, number>> = {};
for (const s of shapes) {
  const a = rand(s.M * s.K, 7), b = rand(s.K * s.N, 8);
  const bufs = { a: buf(a, U.STORAGE), b: buf(b, U.STORAGE), bias: buf(rand(s.N, 9), U.STORAGE), c: buf(new Float32Array(s.M * s.N), U.STORAGE | U.COPY_SRC) };
  const bound: { c: Cand; bd: Bound; R: number; t: number[]; cpu: number[] }[] = [];
  for (const c of cands) {
    const bd = await bind(c, s, bufs);
    await run(bd, 1); // warm (JIT)
    const one = await run(bd, 2) / 2;
    const R = Math.max(1, Math.min(2000, Math.round(targetMs / Math.max(one, 0.01))));
    bound.push({ c, bd, R, t: [], cpu: [] });
  }
  for (let r = 0; r < reps; r++) {
    for (const x of (r % 2 ? [...bound].reverse() : bound)) { x.t.push((await run(x.bd, x.R)) / x.R); x.cpu.push(lastCpu / x.R); }
  }
  const flop = 2 * s.M * s.N * s.K;
  console.log(`\n== ${s.key}: M=${s.M} N=${s.N} K=${s.K}${s.ta ? ' TRANS_A' : ''}${s.tb ? ' TRANS_B' : ''}`);
  const rows = bound.map((x) => ({ name: x.c.name, ms: median(x.t), min: Math.min(...x.t), cpu: median(x.cpu), R: x.R, spread: (Math.max(...x.t) - Math.min(...x.t)) / median(x.t) }));
  rows.sort((p, q) => p.ms - q.ms);
  for (const r of rows) {
    (results[r.name] ??= {})[s.key] = r.ms;
    (mins[r.name] ??= {})[s.key] = r.min;
    (cpus[r.name] ??= {})[s.key] = r.cpu;
    console.log(`  ${r.name.padEnd(32)} ${r.ms.toFixed(3).padStart(9)} ms  ${(flop / r.ms / 1e6).toFixed(3).padStart(7)} GFLOP/s  min ${r.min.toFixed(3).padStart(9)} ms  cpu ${r.cpu.toFixed(3).padStart(9)} ms (R=${r.R}, spread ${(100 * r.spread).toFixed(0)}%)`);
  }
  for (const x of Object.values(bufs)) x.destroy();
}
console.log('\nJSON ' + JSON.stringify({ median: results, min: mins, cpu: cpus }));
device.destroy();
