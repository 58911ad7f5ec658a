/**
 * Finds a WebGPU adapter for Node through Dawn (the `webgpu` package), in this order:
 *   1. a hardware GPU through the system Vulkan loader, on a machine that has one (a GPU device
 *      node: /dev/dri/renderD*, /dev/nvidia*, /dev/dxg);
 *   2. SwiftShader, the software Vulkan driver Debian's chromium package ships;
 *   3. whatever else the system Vulkan loader offers: Mesa's lavapipe where Dawn accepts it
 *      (Mesa >= 24; older lavapipe lacks features Dawn requires).
 * A user who sets VK_ICD_FILENAMES / VK_DRIVER_FILES chooses the driver themselves.
 *
 * Discovery stays quiet when all is well. Probing Mesa's drivers on a machine without a GPU
 * makes them print (the loader's "Failed to detect any valid GPUs", Dawn's rejection of Mesa
 * 22's lavapipe with a path into its build machine), so the system loader is asked first only
 * where a GPU device exists; and Vulkan's window-system code complains about an unset
 * XDG_RUNTIME_DIR while adapters are enumerated, so a headless process gets an empty one for
 * that moment. What discovery passed over is in the returned adapter's `skipped`.
 * This is the only module that knows about Node and Dawn.
 */
import { existsSync, mkdtempSync, readdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpuContext } from '../gpu/gpu-context.js';
import { describeAdapter, type AdapterDescription } from './adapter-info.js';
import { NoAdapterError } from './errors.js';
import { openDevice } from './open-device.js';

/** Where Debian's chromium package installs SwiftShader's Vulkan driver manifest. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const VULKAN_LOADER_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
];

type DawnModule = typeof import('webgpu');

/** Which adapter to look for: 'auto' takes a GPU where there is one, else a software adapter. */
export type AdapterChoice = 'auto' | 'hardware' | 'software';

/**
 * Opens a WebGPU device through Dawn, looking where the module comment says; throws NoAdapterError
 * saying what was tried and what to install. Destroy the returned context when done.
 */
export async function openNodeGpu(choice: AdapterChoice = 'auto'): Promise<GpuContext> {
  let dawn: DawnModule;
  try {
    dawn = await import('webgpu');
  } catch (cause) {
    throw new NoAdapterError(`the 'webgpu' package (Dawn for Node) could not be loaded: run \`npm ci\`. (${String(cause)})`);
  }
  Object.assign(globalThis, dawn.globals);

  const chosen = process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES;
  if (chosen) {
    const found = await requestAdapter(dawn, null);
    if (found) return open(found, 'Dawn, Vulkan ICD from VK_ICD_FILENAMES', []);
    throw new NoAdapterError(`the Vulkan driver chosen by VK_ICD_FILENAMES / VK_DRIVER_FILES (${chosen}) offers no adapter Dawn accepts; unset it to let discovery choose.`);
  }

  const skipped: string[] = [];
  let systemProbed = false;
  const system = async (): Promise<Found | null> => {
    systemProbed = true;
    const found = await requestAdapter(dawn, null);
    if (!found) {
      skipped.push('system Vulkan: no adapter Dawn accepts');
      return null;
    }
    const software = describeAdapter(found.adapter, '').software;
    if (choice === 'auto' || (choice === 'hardware') !== software) return found;
    skipped.push(`system Vulkan: ${found.adapter.info.description || found.adapter.info.device} (${software ? 'software' : 'hardware'}, not the ${choice} adapter asked for)`);
    return null;
  };

  // 1. A hardware GPU, where the machine has one (or the caller insists).
  const devices = gpuDeviceNodes();
  if (choice !== 'software' && (devices.length > 0 || choice === 'hardware')) {
    const found = await system();
    if (found) return open(found, 'Dawn, system Vulkan', skipped);
  } else if (choice !== 'software') {
    skipped.push('system Vulkan: no GPU device on this machine (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg)');
  }

  // 2. SwiftShader.
  if (choice !== 'hardware') {
    if (existsSync(SWIFTSHADER_ICD)) {
      const found = await requestAdapter(dawn, SWIFTSHADER_ICD);
      if (found) return open(found, 'Dawn, SwiftShader Vulkan ICD', skipped);
      skipped.push(`SwiftShader at ${SWIFTSHADER_ICD}: no adapter`);
    } else {
      skipped.push(`SwiftShader: not installed (${SWIFTSHADER_ICD})`);
    }
  }

  // 3. Whatever else the system loader offers (lavapipe), if not asked already.
  if (!systemProbed) {
    const found = await system();
    if (found) return open(found, 'Dawn, system Vulkan', skipped);
  }

  const loader = VULKAN_LOADER_PATHS.some((p) => existsSync(p))
    ? ''
    : ' The Vulkan loader (libvulkan.so.1) is missing: `apt-get install -y libvulkan1`.';
  throw new NoAdapterError(
    `no ${choice === 'auto' ? '' : `${choice} `}WebGPU adapter found (${skipped.join('; ')}).${loader} ` +
      'For a software adapter install Debian chromium, which ships SwiftShader: `apt-get install -y libvulkan1 chromium`; ' +
      'for a GPU, install its Vulkan driver. Or use the CPU device (--device cpu).',
  );
}

/**
 * The device nodes through which Linux offers a GPU to Vulkan drivers (/dev/dri/renderD*,
 * /dev/nvidia*, WSL's /dev/dxg): empty on a machine without one, where openNodeGpu's `auto`
 * takes SwiftShader. For a program that sets up a driver's environment before Dawn starts, in a
 * process of its own.
 */
export function gpuDeviceNodes(): string[] {
  const list = (dir: string, pattern: RegExp) => {
    try {
      return readdirSync(dir).filter((name) => pattern.test(name)).map((name) => join(dir, name));
    } catch {
      return [];
    }
  };
  return [...list('/dev/dri', /^renderD\d+$/), ...list('/dev', /^(nvidia\d+|dxg)$/)];
}

interface Found {
  adapter: GPUAdapter;
  gpu: GPU;
}

/**
 * Dawn instances, one per Vulkan driver (the VK_ICD_FILENAMES it was created under), kept for
 * the life of the process and reused by every device opened from it.
 *
 * Why never released: dawn.node's AsyncRunner, which every adapter and device shares, holds a raw
 * pointer to its instance and polls it from setImmediate while any promise of theirs is pending
 * (`lost`, a map, an error scope, work still in flight when a device is destroyed). The instance
 * itself is freed when its JS `GPU` object is garbage-collected, and nothing ties that to the
 * devices' promises. A device destroyed with work in flight, then a collection, crashed the
 * process ('terminate called after throwing std::system_error: Invalid argument', or a
 * segfault) or hung it on a freed mutex: test/device-lifetime.test.ts makes that happen on
 * purpose. The same lifetime bug shows in the `webgpu` package's own tracker when `navigator.gpu`
 * is deleted: https://github.com/dawn-gpu/node-webgpu/issues/18 . A browser keeps
 * `navigator.gpu` for the page's life; so do we, for the process's.
 */
const instances = new Map<string, GPU>();

/** The Dawn instance for `icd` (a driver manifest; null: the system loader's choice), created once. */
function instanceFor(dawn: DawnModule, icd: string | null): GPU {
  const driver = icd ?? process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES ?? '';
  let gpu = instances.get(driver);
  if (!gpu) {
    gpu = dawn.create([]) as GPU;
    instances.set(driver, gpu);
  }
  return gpu;
}

/** Asks the Dawn instance for `icd` for its high-performance adapter. */
function requestAdapter(dawn: DawnModule, icd: string | null): Promise<Found | null> {
  return withDriverEnvironment(icd, async () => {
    const gpu = instanceFor(dawn, icd);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    return adapter ? { adapter, gpu } : null;
  });
}

/**
 * A `GPU`, what a browser offers as `navigator.gpu`, on the Vulkan driver that `adapter` (the
 * description of a device openNodeGpu opened) came from: another WebGPU library in the same
 * process, such as a benchmark's peers, then runs on the same adapter. It asks the Dawn instance
 * that device came from, kept for the process, under that driver's environment.
 */
export async function dawnGpuFor(adapter: Pick<AdapterDescription, 'source'>): Promise<GPU> {
  const dawn = await import('webgpu');
  Object.assign(globalThis, dawn.globals);
  const icd = /SwiftShader/i.test(adapter.source) ? SWIFTSHADER_ICD : null;
  const gpu = await withDriverEnvironment(icd, async () => instanceFor(dawn, icd));
  return {
    __brand: 'GPU',
    requestAdapter: (options?: GPURequestAdapterOptions) => withDriverEnvironment(icd, () => gpu.requestAdapter(options)),
    getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat(),
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
  };
}

/**
 * Runs `body` with VK_ICD_FILENAMES naming `icd` (the Vulkan loader reads it as Dawn starts a
 * driver) and, where unset, XDG_RUNTIME_DIR naming an empty directory: drivers look for a Wayland
 * display while their adapters are enumerated, and libwayland prints "error: XDG_RUNTIME_DIR is
 * invalid or not set" for each look. A headless process has no display to find either way.
 * Both are restored afterwards.
 */
async function withDriverEnvironment<T>(icd: string | null, body: () => Promise<T>): Promise<T> {
  const saved = { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };
  const quiet = process.platform === 'linux' && !saved.XDG_RUNTIME_DIR?.startsWith('/') ? mkdtempSync(join(tmpdir(), 'webgpu-backprop-')) : null;
  if (icd !== null) process.env.VK_ICD_FILENAMES = icd;
  if (quiet) process.env.XDG_RUNTIME_DIR = quiet;
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    if (quiet) rmdirSync(quiet);
  }
}

function open(found: Found, source: string, skipped: readonly string[]): Promise<GpuContext> {
  // dawn.node polls for a pending map on the main thread; on a software adapter that thread
  // shares the cores with the shaders, so waits sleep between polls (pollGently).
  return openDevice(found.adapter, describeAdapter(found.adapter, source, skipped), { gentleWaits: true });
}
