import { GpuContext, type GpuContextOptions } from '../gpu/gpu-context.js';
import type { AdapterDescription } from './adapter-info.js';

/**
 * Opens a device with the adapter's own buffer limits (the defaults cap storage bindings at
 * 128 MiB, smaller than some datasets and matmuls we run) and timestamp queries where offered.
 */
export async function openDevice(adapter: GPUAdapter, description: AdapterDescription, options?: GpuContextOptions): Promise<GpuContext> {
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({
    label: 'webgpu-backprop',
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(adapter.limits.maxStorageBuffersPerShaderStage, 10),
    },
  });
  return new GpuContext(device, description, options);
}
