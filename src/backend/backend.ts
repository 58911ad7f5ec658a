import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BatchNormHyper, ConvArgs, MatmulArgs, OptimizerHyper, OptimizerKind, PoolArgs, RunningStats } from './ops.js';

/**
 * The ops layers and networks are written against. The GPU implementation records each op
 * into the step's command encoder and returns at once; the CPU implementation computes it.
 * Ops return new tensors that the caller owns and disposes; `sgdUpdate` works in place.
 *
 * T is the backend's own tensor type; layers stay generic over it.
 */
export interface Backend<T extends Tensor = Tensor> {
  readonly device: 'gpu' | 'cpu';
  /** Which adapter or precision runs the ops, for logs and reports. */
  readonly label: string;

  /** A float tensor from values in row-major order. */
  fromArray(data: ArrayLike<number>, shape: Shape): T;
  /** Class indices as a u32 tensor of shape [n]; each must be < classes. */
  labels(indices: ArrayLike<number>, classes: number): T;
  zeros(shape: Shape): T;
  /** Copies a float tensor's values in (same size), e.g. parameters loaded from a file. */
  write(t: T, data: ArrayLike<number>): void;
  read(t: T): Promise<Float32Array | Float64Array | Uint32Array>;
  dispose(...tensors: (T | undefined)[]): void;
  /**
   * x's values under another shape of the same size (a flatten, or rows of pixels seen as
   * images), sharing x's storage: nothing is copied or dispatched, the view is valid while x
   * is, and disposing it frees nothing.
   */
  reshape(x: T, shape: Shape): T;

  /**
   * op(A)·op(B) (+ bias) (activation), A and B optionally transposed without copying.
   * `args.data` says A is a data batch; the result is the same, only the kernels may differ.
   */
  matmul(a: T, b: T, args?: MatmulArgs): T;
  /** y = max(x, 0) and the mask (1 where x > 0) that backward applies. */
  reluForward(x: T): { y: T; mask: T };
  reluBackward(dy: T, mask: T): T;
  sigmoidForward(x: T): T;
  /** dx = dy * y * (1 - y), from the saved forward output. */
  sigmoidBackward(dy: T, y: T): T;
  /**
   * Training dropout: each element is kept (y = x, mask 1) where a hash of (seed, index) is at
   * least ratio·2³², else dropped (y = 0, mask 0). Both backends draw the same mask for a seed.
   */
  dropoutForward(x: T, ratio: number, seed: number): { y: T; mask: T };
  /** Inference dropout, as the book: every unit kept, scaled by the fraction kept in training. */
  dropoutInference(x: T, ratio: number): T;
  dropoutBackward(dy: T, mask: T): T;
  /**
   * Training batch normalization of x [rows, cols] per column: y = gamma·xn + beta with xn the
   * column normalized by its batch mean and variance; returns what backward needs (xn, 1/std)
   * and moves `running` towards the batch statistics in place.
   */
  batchNormTrain(x: T, gamma: T, beta: T, running: RunningStats<T>, hyper: BatchNormHyper): { y: T; xn: T; invStd: T };
  /** Inference batch normalization with the running statistics. */
  batchNormInference(x: T, gamma: T, beta: T, running: RunningStats<T>, hyper: BatchNormHyper): T;
  batchNormBackward(dy: T, xn: T, invStd: T, gamma: T): { dx: T; dgamma: T; dbeta: T };
  /**
   * The book's Convolution forward: y [N, O, OH, OW] from images x [N, C, H, W], filters
   * W [O, C, KH, KW] and bias b [O], with `args.stride` and zero padding `args.pad`.
   */
  convForward(x: T, w: T, b: T, args?: ConvArgs): T;
  /** The filters' and bias' gradients: dW = Σ over (n, oh, ow) of dout · the input patch; db = Σ dout per filter. */
  convBackwardFilter(dout: T, x: T, w: T, args?: ConvArgs): { dw: T; db: T };
  /** The input's gradient [N, C, H, W] (the book's col2im of dout·W), for an input of shape `xShape`. */
  convBackwardData(dout: T, w: T, xShape: Shape, args?: ConvArgs): T;
  /**
   * Max pooling: y [N, C, OH, OW] and, per output, the flat index into x of the value taken
   * (u32), which backward routes the gradient to.
   */
  maxPoolForward(x: T, args: PoolArgs): { y: T; argmax: T };
  /** dx [xShape]: each dy added at its argmax, zero elsewhere (overlapping windows add up). */
  maxPoolBackward(dy: T, argmax: T, xShape: Shape, args: PoolArgs): T;
  /**
   * The book's Conv → Relu → Pool block (max pooling) in one pass: y [N, O, PH, PW] is the
   * pooling of max(convForward(x, w, b, conv), 0), and argmax (u32) the flat index into the
   * convolution's output [N, O, OH, OW] of the value taken, or NONE (2³² - 1) where y is 0:
   * ReLU passes no gradient there. The ReLU and convolution outputs are never stored.
   */
  convReluPoolForward(x: T, w: T, b: T, conv: ConvArgs, pool: PoolArgs): { y: T; argmax: T };
  /**
   * That block's filter and bias gradients from the pooled gradient dy [N, O, PH, PW]: each dy
   * with an argmax times the input patch at that position (about a quarter of the positions
   * convBackwardFilter sums over, for 2x2 windows). The input's gradient is
   * convBackwardData(maxPoolBackward(dy, argmax, …), …).
   */
  convPoolBackwardFilter(dy: T, argmax: T, x: T, w: T, conv: ConvArgs, pool: PoolArgs): { dw: T; db: T };
  softmax(x: T): T;
  /** Row softmax and the batch-mean cross-entropy loss (shape []); labels are indices [n] or one-hot [n, classes]. */
  softmaxCrossEntropy(logits: T, labels: T): { probs: T; loss: T };
  /** (probs - t) / batch. */
  softmaxCrossEntropyBackward(probs: T, labels: T): T;
  /** Sum over rows: [rows, cols] → [cols] (the bias gradient). */
  sumColumns(x: T): T;
  sum(x: T): T;
  /** Σ x², as a tensor of shape [] (the weight-decay term). */
  sumSquares(x: T): T;
  /** target += alpha · source, in place (adds λW to a gradient, a term to a loss). */
  addScaled(target: T, source: T, alpha: number): void;
  mean(x: T): T;
  /** Index of each row's largest value: [rows, cols] → u32 [rows]. */
  argmax(x: T): T;
  /** How many rows' argmax equal their label, as a float tensor of shape []. */
  countCorrect(scores: T, labels: T): T;
  /** dst = src (same shape), recorded like any other op. */
  copy(src: T, dst: T): void;
  /** dst[index] = src[0], for a scalar such as a step's loss (a GPU step files it without a readback). */
  storeScalar(src: T, dst: T, index: number): void;
  /** param -= lr * grad, in place. */
  sgdUpdate(param: T, grad: T, lr: number): void;
  /**
   * One step of the book's Momentum, Nesterov, AdaGrad, RMSprop or Adam, in place: param and
   * its state tensors (the optimizer's, created with `zeros`, shaped like param: [v], [v], [h],
   * [h], [m, v]) are updated from grad. Adam's `hyper.step` is t, counted from 1.
   */
  optimizerUpdate(kind: OptimizerKind, param: T, grad: T, state: readonly T[], hyper: OptimizerHyper): void;
  /** GPU: submits the ops recorded so far. CPU: nothing to do. */
  flush(): void;
}
