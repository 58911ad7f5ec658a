/** Messages between the page and the numerical-gradient worker, and the net both sides build. */

/** The book's gradient_check.py: TwoLayerNet(784, 50, 10) and the first 3 training images. */
export const GRADCHECK_NET = { input: 784, hidden: 50, output: 10, weightInitStd: 0.01, images: 3 } as const;

export interface NumericalRequest {
  /** count × 784 pixels in [0, 1]. */
  pixels: Float64Array;
  labels: Uint8Array;
  count: number;
  seed: number;
}

export type NumericalReply =
  | { kind: 'progress'; done: number; total: number }
  | { kind: 'done'; grads: [string, Float64Array][]; ms: number; forwardPasses: number }
  | { kind: 'error'; message: string };
