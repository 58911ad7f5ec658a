/**
 * What Tint's robustness transform costs SimpleConvNet's training step on this adapter: Dawn's
 * `disable_robustness` toggle (an unsafe API, so never a default here; see RESULTS.md) off and
 * on, one process per arm and round, alternating (two Dawn instances in one process crashed or
 * hung: bench/skip-validation.ts).
 *
 *   node --import ./tools/register.mjs bench/matmul-explore/robustness.ts [--rounds 4] [--steps 20]
 *
 * Each child first proves its arm: a kernel reads element 4 of a binding 4 floats long (the
 * buffer behind it holds 8). With robustness Tint clamps the index and reads element 3; without,
 * the read is left to the driver. Then SimpleConvNet trains (Adam lr 0.001, batch 100, the same
 * batches in every child): warm-up steps, then timed steps each waited for; the child reports
 * the median and an FNV hash of the trained weights, which agree between the arms when no kernel
 * reads out of bounds.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Adam, GpuBackend, GpuDataset, SimpleConvNet, type GpuContext } from 'webgpu-backprop';
import { loadMnist, SWIFTSHADER_ICD } from 'webgpu-backprop/node';
import { batchSchedule } from '../lib/data.js';
import { fnv, openArmDevice, submitProbe } from '../lib/skip-validation-child.js';
import { median } from '../lib/stats.js';

const ROBUSTNESS_OFF = 'enable-dawn-features=allow_unsafe_apis,disable_robustness';

interface ArmResult {
  robustness: 'on' | 'off';
  /** What the out-of-bounds read returned: 4 (element 3) where Tint clamps. */
  probe: number;
  stepMs: number[];
  medianMs: number;
  weights: string;
}

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};

/** Reads a[i] for i = 4 from a binding of 4 floats into out[0]. */
async function probe(ctx: GpuContext): Promise<number> {
  const device = ctx.device;
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read> a: array<f32>;
           @group(0) @binding(1) var<storage, read_write> out: array<f32>;
           @group(0) @binding(2) var<uniform> i: vec4u;
           @compute @workgroup_size(1) fn main() { out[0] = a[i.x]; }`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const a = device.createBuffer({ size: 32, usage: GPUBufferUsage.STORAGE, mappedAtCreation: true });
  new Float32Array(a.getMappedRange()).set([1, 2, 3, 4, 5, 6, 7, 8]);
  a.unmap();
  const out = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const index = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
  new Uint32Array(index.getMappedRange()).set([4, 0, 0, 0]);
  index.unmap();
  const readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: a, size: 16 } },
      { binding: 1, resource: { buffer: out } },
      { binding: 2, resource: { buffer: index } },
    ],
  });
  submitProbe(device, pipeline, bindGroup, out, readback);
  await readback.mapAsync(GPUMapMode.READ);
  const value = new Float32Array(readback.getMappedRange())[0]!;
  readback.unmap();
  for (const b of [a, out, index, readback]) b.destroy();
  return value;
}

async function child(robustness: 'on' | 'off', warmup: number, steps: number): Promise<ArmResult> {
  const ctx = await openArmDevice(robustness === 'off' ? [ROBUSTNESS_OFF] : [], 'software', 'Dawn, SwiftShader Vulkan ICD');
  const probed = await probe(ctx);
  const gpu = new GpuBackend(ctx);
  const mnist = await loadMnist();
  const train = new GpuDataset(gpu, mnist.train);
  const net = new SimpleConvNet(gpu);
  const adam = new Adam(gpu, 0.001);
  const params = net.params();
  const batches = batchSchedule(42, train.count, 100, warmup + steps);
  const stepMs: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const { x, t } = train.batch(batches[i]!);
    net.gradient(x, t, i);
    adam.update(params);
    gpu.dispose(x, t);
    await ctx.finish();
    if (i >= warmup) stepMs.push(performance.now() - t0);
  }
  const weights = fnv((await Promise.all(params.map((p) => p.value.read()))) as Float32Array[]);
  return { robustness, probe: probed, stepMs, medianMs: median(stepMs), weights };
}

function runChild(robustness: 'on' | 'off', warmup: number, steps: number): Promise<ArmResult> {
  const env = { ...process.env };
  if (!env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  // libwayland complains while adapters are enumerated when XDG_RUNTIME_DIR is unset (as in bench/skip-validation.ts).
  if (!env.XDG_RUNTIME_DIR?.startsWith('/')) env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'webgpu-backprop-'));
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...process.execArgv, script, '--child', robustness, '--warmup', String(warmup), '--steps', String(steps)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ArmResult) : reject(new Error(`robustness ${robustness}: child exited with ${code}`))));
  });
}

const childArm = argv.includes('--child') ? (argv[argv.indexOf('--child') + 1] as 'on' | 'off') : undefined;
const warmup = flag('--warmup', 3);
const steps = flag('--steps', 20);
if (childArm) {
  const r = await child(childArm, warmup, steps);
  process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
} else {
  const rounds = flag('--rounds', 4);
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // The order flips every round, so neither arm always runs second.
    const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    const r: Partial<Record<'on' | 'off', ArmResult>> = {};
    for (const arm of order) r[arm] = await runChild(arm, warmup, steps);
    const on = r.on!;
    const off = r.off!;
    ratios.push(on.medianMs / off.medianMs);
    console.log(
      `round ${round + 1}: robustness on ${on.medianMs.toFixed(1)} ms (probe ${on.probe}), off ${off.medianMs.toFixed(1)} ms (probe ${off.probe}); ` +
        `on ÷ off ${(on.medianMs / off.medianMs).toFixed(2)}x; weights ${on.weights === off.weights ? 'identical' : `DIFFER (${on.weights} vs ${off.weights})`}`,
    );
  }
  console.log(`median on ÷ off over ${rounds} rounds: ${median(ratios).toFixed(2)}x (range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`);
}
