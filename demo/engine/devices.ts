/**
 * The two devices the page trains on and their copies of MNIST. The GPU copy is uploaded once
 * (47 MB as bytes) and shared by training, the CPU-vs-GPU panel and the predictions; the CPU
 * copy is the same bytes in memory. The CPU device computes in float32, as `npm start --device
 * cpu` does; the gradient check makes its own float64 backend.
 */
import { CpuBackend, CpuDataset, GpuDataset, type Backend, type Dataset, type GpuBackend, type GpuTensor, type Mnist, type Tensor } from 'webgpu-backprop';
import type { DeviceName } from '../app/settings.js';

export interface DeviceData<T extends Tensor = Tensor> {
  backend: Backend<T>;
  train: Dataset<T>;
  test: Dataset<T>;
}

export class Devices {
  readonly cpu = new CpuBackend('f32');
  /** The gradient check's reference precision. */
  readonly cpu64 = new CpuBackend('f64');
  private readonly data = new Map<DeviceName, DeviceData>();

  constructor(
    readonly mnist: Mnist,
    /** null when this browser has no usable WebGPU. */
    readonly gpu: GpuBackend | null,
  ) {}

  get hasGpu(): boolean {
    return this.gpu !== null;
  }

  on(device: DeviceName): DeviceData {
    let data = this.data.get(device);
    if (!data) {
      data = device === 'gpu' ? this.uploadToGpu() : this.keepOnCpu();
      this.data.set(device, data);
    }
    return data;
  }

  /** The GPU's data with its own tensor type, for code that records dispatches itself. */
  onGpu(): DeviceData<GpuTensor> {
    return this.on('gpu') as unknown as DeviceData<GpuTensor>;
  }

  private uploadToGpu(): DeviceData {
    const gpu = this.gpu;
    if (!gpu) throw new Error('no WebGPU device in this browser');
    return { backend: gpu, train: new GpuDataset(gpu, this.mnist.train), test: new GpuDataset(gpu, this.mnist.test) } as DeviceData;
  }

  private keepOnCpu(): DeviceData {
    return { backend: this.cpu, train: new CpuDataset(this.cpu, this.mnist.train), test: new CpuDataset(this.cpu, this.mnist.test) } as DeviceData;
  }
}
