/**
 * One arm of the skip_validation A/B (#16), run in a process of its own: Dawn's command
 * validation on (the default) or off (its `skip_validation` device toggle). One Dawn instance and
 * one device per process: two instances in one process crashed or hung (see
 * bench/skip-validation.ts), so the parent spawns a process per arm and per round.
 *
 * The arm opens its device as openNodeGpu does (the high-performance adapter of a Dawn instance,
 * `openDevice` with the adapter's limits and paced waits), except that it creates that instance
 * itself so as to pass the toggle: dawn.node's `create(flags)` hands `enable-dawn-features=…`
 * to the instance, to adapter enumeration and to every `requestDevice` as a
 * DawnTogglesDescriptor, and skip_validation is a device-stage toggle. The driver is whatever
 * VK_ICD_FILENAMES / VK_DRIVER_FILES in this process's environment name (the parent sets them),
 * else the system Vulkan loader's choice.
 *
 * It then checks that the toggle took effect (`probeValidation`), and times the seed's
 * TwoLayerNet step, layer by layer and fused, as bench/lib/host-time.ts does: host time around
 * the calls a user's loop makes, the GPU waited for every `syncEvery` steps outside that timing,
 * and the wall time of each such window of steps, wait included.
 */
import { describeAdapter, GpuDataset, NoAdapterError, openDevice, SGD, TwoLayerNet, type AdapterDescription, type GpuBackend, type GpuContext, type Mnist } from 'webgpu-backprop';
import type { AdapterChoice } from 'webgpu-backprop/node';
import { batchSchedule } from './data.js';
import { hostSummary, userStep, type HostSummary } from './host-time.js';
import { oursGpuBackend } from './ours.js';
import { sig, summarize, type Summary } from './stats.js';

/** Dawn's validation in this arm: 'on', as every device opens; 'off', the skip_validation toggle. */
export type Validation = 'on' | 'off';

/** The dawn.node flag that turns the toggle on (create's `enable-dawn-features=a,b`). */
export const SKIP_VALIDATION_FLAG = 'enable-dawn-features=skip_validation';

/** The flags this arm passes to dawn.node's `create`. */
export function dawnFlags(validation: Validation): string[] {
  return validation === 'off' ? [SKIP_VALIDATION_FLAG] : [];
}

export interface ArmPlan {
  /** Untimed steps first, each waited for: pipelines compiled, pools and caches filled. */
  warmup: number;
  /** Timed steps per path. */
  steps: number;
  /** Wait for the GPU after this many steps: the window whose wall time is taken. */
  syncEvery: number;
  seed: number;
  batch: number;
  hidden: number;
}

/** What the probe saw: a WebGPU validation error for each invalid call, or null. */
export interface ValidationProbe {
  /**
   * A dispatch binding one buffer to two writable storage bindings (Dawn rejects the writable
   * aliasing when it validates the dispatch): the error, and the words the shader left in the
   * buffer ([7, 9, 0, 0] if the dispatch ran, zeros if the invalid command buffer was dropped).
   */
  aliasedDispatch: { error: string | null; words: number[] };
  /** createBuffer with MAP_READ | STORAGE, a usage WebGPU forbids: the error, or null. */
  mapReadStorageBuffer: { error: string | null };
  /** Validation as the probe found it: 'on' when both calls were rejected, 'off' when both went through, else 'mixed'. */
  found: Validation | 'mixed';
}

export interface PathResult {
  path: 'layers' | 'fused';
  name: string;
  /** planFusedStep's reason when the path does not apply; the fields below are then absent. */
  skipped?: string;
  dispatchesPerStep?: number;
  submitsPerStep?: number;
  /** Host µs to record and submit one step (GpuDataset.batch … flush, or FusedMlpStep.step and flush). */
  hostUs?: HostSummary;
  /** Wall ms per step of each window of `syncEvery` steps, from its first step's start until the GPU finished it. */
  wallMs?: Summary;
  /** FNV-1a of the trained weights' bits after the timed steps: both arms should agree. */
  weights?: string;
}

export interface ArmResult {
  validation: Validation;
  flags: string[];
  adapter: AdapterDescription;
  /** VK_ICD_FILENAMES / VK_DRIVER_FILES as this process saw them (null: the system loader's choice). */
  driver: string | null;
  probe: ValidationProbe;
  /** ms from creating the Dawn instance to an open device, and to compiled pipelines (GpuBackend.prepare). */
  openMs: number;
  prepareMs: number;
  paths: PathResult[];
  pid: number;
}

/** The Dawn instances made here, kept for the process's life as openNodeGpu keeps its own (see discover-node.ts). */
const instances: GPU[] = [];

/**
 * Opens an arm's device: its own Dawn instance with the arm's flags (dawn.node's `create`), then
 * openDevice as openNodeGpu's open() calls it. Also used by bench/matmul-explore/robustness.ts.
 */
export async function openArmDevice(flags: string[], choice: AdapterChoice, source: string): Promise<GpuContext> {
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (cause) {
    throw new NoAdapterError(`the 'webgpu' package (Dawn for Node) could not be loaded: run \`npm ci\`, or bundle it with --with-dawn. (${String(cause)})`);
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(flags);
  instances.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const driver = driverEnv();
  if (!adapter) throw new NoAdapterError(`Dawn (flags ${JSON.stringify(flags)}) found no adapter with ${driver ? `the Vulkan driver ${driver}` : "the system Vulkan loader's choice"}`);
  const description = describeAdapter(adapter, source);
  if (choice !== 'auto' && description.software !== (choice === 'software')) {
    throw new NoAdapterError(`--adapter ${choice} asked for, but Dawn offered ${description.description || description.device} (${description.software ? 'software' : 'hardware'})`);
  }
  return openDevice(adapter, description, { gentleWaits: true });
}

export function driverEnv(): string | null {
  return process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || null;
}

const PROBE_SHADER = `
@group(0) @binding(0) var<storage, read_write> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> b: array<u32>;
@compute @workgroup_size(1) fn main() { a[0] = 7u; b[1] = 9u; }
`;

/**
 * Whether Dawn validates this device's calls, seen from two invalid calls that do no harm when
 * they are not caught: a dispatch whose two writable bindings alias one 16-byte buffer (run
 * unvalidated, its one invocation writes two words of it), and a buffer with MAP_READ | STORAGE
 * usage (unvalidated, a host-visible storage buffer, destroyed at once). Each runs inside a
 * validation error scope on the raw device, so nothing reaches the GpuContext's error handler.
 */
export async function probeValidation(device: GPUDevice): Promise<ValidationProbe> {
  const module = device.createShaderModule({ code: PROBE_SHADER, label: 'skip-validation probe' });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'skip-validation probe' });
  const target = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: target } },
      { binding: 1, resource: { buffer: target } },
    ],
  });
  device.pushErrorScope('validation');
  submitProbe(device, pipeline, bindGroup, target, readback);
  const dispatchError = await device.popErrorScope();

  device.pushErrorScope('validation');
  const forbidden = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
  const bufferError = await device.popErrorScope();
  forbidden.destroy();

  await readback.mapAsync(GPUMapMode.READ);
  const words = Array.from(new Uint32Array(readback.getMappedRange()));
  readback.unmap();
  for (const b of [target, readback]) b.destroy();

  const ran = !dispatchError && words[0] === 7 && words[1] === 9;
  const rejected = !!dispatchError && words.every((w) => w === 0);
  const found = ran && !bufferError ? 'off' : rejected && bufferError ? 'on' : 'mixed';
  return {
    aliasedDispatch: { error: firstLine(dispatchError), words },
    mapReadStorageBuffer: { error: firstLine(bufferError) },
    found,
  };
}

/** A probe's one dispatch of one workgroup, then its first 16 bytes of `out` copied to `readback`, in one submit. */
export function submitProbe(device: GPUDevice, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, out: GPUBuffer, readback: GPUBuffer): void {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(1);
  pass.end();
  encoder.copyBufferToBuffer(out, 0, readback, 0, 16);
  device.queue.submit([encoder.finish()]);
}

function firstLine(error: GPUError | null): string | null {
  return error ? error.message.split('\n')[0]!.trim() : null;
}

/** FNV-1a over the bits of every word. */
export function fnv(arrays: readonly (Float32Array | Uint32Array)[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const words = new Uint32Array(a.buffer, a.byteOffset, a.length);
    for (const w of words) {
      h ^= w;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * One path's steps on a fresh TwoLayerNet with SGD (lr 0.1): warm-up steps, each waited for, then
 * the timed ones. Host time as host-time.ts takes it: performance.now() around the step's calls
 * and the one submit (its userStep), no waiting inside.
 */
async function timePath(gpu: GpuBackend, train: GpuDataset, path: 'layers' | 'fused', plan: ArmPlan): Promise<PathResult> {
  const ctx = gpu.ctx;
  const name = `TwoLayerNet ${train.features}-${plan.hidden}-10, SGD, ${path === 'fused' ? 'fused' : 'layer by layer'}`;
  const net = new TwoLayerNet(gpu, train.features, plan.hidden, 10, 0.01, plan.seed);
  const sgd = new SGD(gpu, 0.1);
  const user = userStep(gpu, train, net, sgd, path, plan.batch, () => gpu.flush());
  let done = typeof user === 'string' ? () => {} : user.done;
  try {
    if (typeof user === 'string') return { path, name, skipped: user };
    const step = user.step;
    const batches = batchSchedule(plan.seed, train.count, plan.batch, plan.warmup + plan.steps);
    for (let i = 0; i < plan.warmup; i++) {
      step(batches[i]!);
      await ctx.finish();
    }
    const us: number[] = [];
    const wallMs: number[] = [];
    const dispatches = ctx.dispatches;
    const submits = ctx.submits;
    let windowStart = performance.now();
    let inWindow = 0;
    for (let i = 0; i < plan.steps; i++) {
      const t0 = performance.now();
      if (inWindow === 0) windowStart = t0;
      step(batches[plan.warmup + i]!);
      us.push((performance.now() - t0) * 1000);
      inWindow += 1;
      if (inWindow === plan.syncEvery || i === plan.steps - 1) {
        await ctx.finish();
        wallMs.push((performance.now() - windowStart) / inWindow);
        inWindow = 0;
      }
    }
    const dispatchesPerStep = (ctx.dispatches - dispatches) / plan.steps;
    const submitsPerStep = (ctx.submits - submits) / plan.steps;
    done();
    done = () => {};
    const weights = fnv(await Promise.all(net.params().map((p) => p.value.read())));
    return { path, name, dispatchesPerStep, submitsPerStep, hostUs: hostSummary(us), wallMs: summarize(wallMs), weights };
  } finally {
    done();
    sgd.dispose();
    net.dispose();
    ctx.submit();
  }
}

/** The whole arm: open, probe, prepare, both paths, destroy. */
export async function runArm(validation: Validation, choice: AdapterChoice, source: string, mnist: Mnist, plan: ArmPlan, progress: (line: string) => void): Promise<ArmResult> {
  const t0 = performance.now();
  const ctx = await openArmDevice(dawnFlags(validation), choice, source);
  try {
    const openMs = performance.now() - t0;
    const probe = await probeValidation(ctx.device);
    progress(`validation ${validation}: probe found validation ${probe.found} (${ctx.adapter.description || ctx.adapter.device})`);
    const gpu = await oursGpuBackend(ctx);
    const prepareMs = performance.now() - t0;
    const train = new GpuDataset(gpu, mnist.train);
    const paths: PathResult[] = [];
    try {
      for (const path of ['layers', 'fused'] as const) {
        const r = await timePath(gpu, train, path, plan);
        progress(r.hostUs ? `validation ${validation}: ${r.name}: host ${r.hostUs.median} µs, wall ${r.wallMs!.median} ms a step` : `validation ${validation}: ${r.name}: skipped (${r.skipped})`);
        paths.push(r);
      }
    } finally {
      train.dispose();
    }
    return { validation, flags: dawnFlags(validation), adapter: ctx.adapter, driver: driverEnv(), probe, openMs: sig(openMs, 4), prepareMs: sig(prepareMs, 4), paths, pid: process.pid };
  } finally {
    ctx.destroy();
  }
}
