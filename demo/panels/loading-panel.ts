/** The two progress bars the page opens with: MNIST download and WGSL pipeline compilation. */
import { byId, bytesText, durationText } from '../app/dom.js';

export class LoadingPanel {
  private readonly t0 = performance.now();

  mnist(loaded: number, total: number): void {
    byId('mnist-progress', HTMLProgressElement).value = total ? loaded / total : 0;
    byId('mnist-text').textContent = `${bytesText(loaded)} of ${bytesText(total)}`;
  }

  mnistDone(train: number, test: number): void {
    byId('mnist-progress', HTMLProgressElement).value = 1;
    byId('mnist-text').textContent = `${train.toLocaleString('en')} + ${test.toLocaleString('en')} images in ${durationText(performance.now() - this.t0)}`;
  }

  compile(done: number, total: number): void {
    byId('compile-progress', HTMLProgressElement).value = total ? done / total : 0;
    byId('compile-text').textContent = `${done} of ${total} pipelines`;
  }

  compileDone(count: number): void {
    byId('compile-progress', HTMLProgressElement).value = 1;
    byId('compile-text').textContent = `${count} pipelines in ${durationText(performance.now() - this.t0)}`;
  }

  noGpu(): void {
    byId('compile-progress', HTMLProgressElement).value = 0;
    byId('compile-text').textContent = 'skipped: no WebGPU';
  }

  /** Shrinks to one line once everything is in place; the numbers stay visible. */
  finish(): void {
    byId('loading').classList.add('done');
  }
}
