/**
 * The numerical half of the book's gradient check, off the page's thread: central differences
 * over all 39,760 parameters of a 784-50-10 TwoLayerNet are ~80,000 forward passes (seconds),
 * which would freeze the page. It is the engine's own numericalGradients on the CPU backend in
 * float64; counting the net's loss evaluations gives the progress bar.
 */
import { CpuBackend, numericalGradients, TwoLayerNet, type ForwardMode, type Tensor } from 'webgpu-backprop';
import { GRADCHECK_NET, type NumericalReply, type NumericalRequest } from './protocol.js';

/** TwoLayerNet that tells how many loss evaluations it has made. */
class CountingNet<T extends Tensor> extends TwoLayerNet<T> {
  onLoss: () => void = () => {};

  override loss(x: T, t: T, mode?: ForwardMode): T {
    this.onLoss();
    return super.loss(x, t, mode);
  }
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<NumericalRequest>) => void) | null;
  postMessage(message: NumericalReply, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

scope.onmessage = ({ data: request }) => {
  try {
    const be = new CpuBackend('f64');
    const { input, hidden, output, weightInitStd } = GRADCHECK_NET;
    const net = new CountingNet(be, input, hidden, output, weightInitStd, request.seed);
    const x = be.fromArray(request.pixels, [request.count, input]);
    const t = be.labels(request.labels, output);
    const total = 2 * net.params().reduce((n, p) => n + p.value.size, 0);
    let calls = 0;
    net.onLoss = () => {
      calls += 1;
      if (calls % 1000 === 0) scope.postMessage({ kind: 'progress', done: calls, total });
    };
    const t0 = performance.now();
    const grads = numericalGradients(net, x, t);
    const ms = performance.now() - t0;
    const entries = [...grads.entries()];
    scope.postMessage({ kind: 'done', grads: entries, ms, forwardPasses: calls }, entries.map(([, g]) => g.buffer));
  } catch (e) {
    scope.postMessage({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
