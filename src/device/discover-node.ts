/**
 * Finds a WebGPU adapter for Node through Dawn (the `webgpu` package), in this order:
 *   1. whatever the system Vulkan loader offers: a hardware GPU, or Mesa's lavapipe where
 *      Dawn accepts it (Mesa >= 24; older lavapipe lacks features Dawn requires);
 *   2. SwiftShader, the software Vulkan driver Debian's chromium package ships.
 * A user who sets VK_ICD_FILENAMES / VK_DRIVER_FILES chooses the driver themselves.
 * This is the only module that knows about Node and Dawn.
 */
import { existsSync } from 'node:fs';
import type { GpuContext } from '../gpu/gpu-context.js';
import { describeAdapter } from './adapter-info.js';
import { NoAdapterError } from './errors.js';
import { openDevice } from './open-device.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const VULKAN_LOADER_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
];

type DawnModule = typeof import('webgpu');

export type AdapterChoice = 'auto' | 'hardware' | 'software';

export async function openNodeGpu(choice: AdapterChoice = 'auto'): Promise<GpuContext> {
  let dawn: DawnModule;
  try {
    dawn = await import('webgpu');
  } catch (cause) {
    throw new NoAdapterError(`the 'webgpu' package (Dawn for Node) could not be loaded: run \`npm ci\`. (${String(cause)})`);
  }
  Object.assign(globalThis, dawn.globals);

  const userChoseDriver = Boolean(process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES);
  const tried: string[] = [];

  const system = await requestAdapter(dawn, 'high-performance');
  if (system) {
    const software = describeAdapter(system.adapter, '').software;
    const wanted = choice === 'auto' || (choice === 'hardware') !== software;
    if (userChoseDriver || wanted) {
      return open(system, userChoseDriver ? 'Dawn, Vulkan ICD from VK_ICD_FILENAMES' : 'Dawn, system Vulkan');
    }
    tried.push(`system Vulkan offered ${system.adapter.info.description || system.adapter.info.device}`);
  } else {
    tried.push('system Vulkan offered no adapter Dawn accepts');
  }

  if (!userChoseDriver && choice !== 'hardware' && existsSync(SWIFTSHADER_ICD)) {
    // The Vulkan loader reads this when Dawn creates its instance, so setting it now is enough.
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    const swiftshader = await requestAdapter(dawn, 'high-performance');
    if (swiftshader) return open(swiftshader, 'Dawn, SwiftShader Vulkan ICD');
    tried.push(`SwiftShader at ${SWIFTSHADER_ICD} offered no adapter`);
    delete process.env.VK_ICD_FILENAMES;
  } else if (!existsSync(SWIFTSHADER_ICD)) {
    tried.push(`no SwiftShader at ${SWIFTSHADER_ICD}`);
  }

  const loader = VULKAN_LOADER_PATHS.some((p) => existsSync(p))
    ? ''
    : ' The Vulkan loader (libvulkan.so.1) is missing: `apt-get install -y libvulkan1`.';
  throw new NoAdapterError(
    `no WebGPU adapter found (${tried.join('; ')}).${loader} ` +
      'For a software adapter install Debian chromium, which ships SwiftShader: `apt-get install -y libvulkan1 chromium`; ' +
      'for a GPU, install its Vulkan driver. Or use the CPU device (--device cpu).',
  );
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

function dawnInstance(dawn: DawnModule): GPU {
  // The Vulkan loader reads VK_ICD_FILENAMES when an instance is created, so it names the driver.
  const driver = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES ?? '';
  let gpu = instances.get(driver);
  if (!gpu) {
    gpu = dawn.create([]) as GPU;
    instances.set(driver, gpu);
  }
  return gpu;
}

async function requestAdapter(dawn: DawnModule, powerPreference: GPUPowerPreference): Promise<Found | null> {
  const gpu = dawnInstance(dawn);
  const adapter = await gpu.requestAdapter({ powerPreference });
  return adapter ? { adapter, gpu } : null;
}

function open(found: Found, source: string): Promise<GpuContext> {
  // dawn.node polls for a pending map on the main thread; on a software adapter that thread
  // shares the cores with the shaders, so waits sleep first (WaitPacer).
  return openDevice(found.adapter, source, { paceWaits: true });
}
