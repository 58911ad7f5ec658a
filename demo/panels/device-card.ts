/** The header's device line: which adapter trains (and whether it is software), and GPU memory. */
import type { App } from '../app/app.js';
import { byId, bytesText } from '../app/dom.js';
import { adapterLabel } from 'webgpu-backprop';

export class DeviceCard {
  constructor(private readonly app: App) {
    app.events.on('session', () => this.render());
    setInterval(() => this.renderMemory(), 1000);
  }

  private render(): void {
    const s = this.app.session;
    const gpu = this.app.devices.gpu;
    const name = byId('device-name');
    name.textContent = s.backend.device === 'gpu' && gpu ? `GPU: ${adapterLabel(gpu.ctx.adapter)}` : `CPU: ${s.backend.label}`;
    name.dataset.device = s.backend.device;
    this.renderMemory();
  }

  private renderMemory(): void {
    const gpu = this.app.devices.gpu;
    const out = byId('device-memory');
    if (!gpu) {
      out.textContent = 'no WebGPU';
      return;
    }
    const pool = gpu.ctx.pool.stats();
    out.textContent = `${bytesText(pool.bytesInUse)} in use of ${bytesText(pool.bytesAllocated)} allocated (${pool.buffersAllocated} buffers)`;
  }
}
