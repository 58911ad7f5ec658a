import type { GpuContext } from '../gpu/gpu-context.js';
import { describeAdapter } from './adapter-info.js';
import { NoAdapterError } from './errors.js';
import { openDevice } from './open-device.js';

/** The browser's WebGPU adapter, or a NoAdapterError that the page can turn into a notice. */
export async function openBrowserGpu(): Promise<GpuContext> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new NoAdapterError(
      'This browser has no WebGPU (navigator.gpu is missing). Use a current Chrome, Edge or Firefox, ' +
        'serve the page over http://localhost or https, or train on the CPU device.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new NoAdapterError('WebGPU is present but offers no adapter (GPU blocklisted or disabled). Train on the CPU device.');
  }
  return openDevice(adapter, describeAdapter(adapter, 'navigator.gpu'));
}
