import type { Backend } from '../backend/backend.js';
import type { OptimizerHyper, OptimizerKind } from '../backend/ops.js';
import { OPTIMIZER_SPEC } from '../kernels/optimizers.js';
import type { Param } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';

/** Updates parameters in place from their gradients; stateful optimizers keep their state on the backend. */
export interface Optimizer<T extends Tensor> {
  readonly name: string;
  /** The learning rate. */
  readonly lr: number;
  update(params: readonly Param<T>[]): void;
}

/**
 * What an optimizer has learned besides the weights: its step count and its state tensors by
 * `${param name}.${state name}` (e.g. `W1.v`, `b2.m`), as plain float32 values.
 */
export interface OptimizerState {
  step: number;
  tensors: Record<string, Float32Array>;
}

/**
 * What a fused training step (src/train/mlp-step.ts) needs of an optimizer: it applies the rule
 * itself, inside its own kernel, so it asks for the rule, the hyperparameters of each update and
 * where the state lives. SGD and every stateful optimizer here provide it.
 */
export interface FusableOptimizer<T extends Tensor> extends Optimizer<T> {
  /** The update rule, as the fused kernel names it. */
  readonly rule: 'sgd' | OptimizerKind;
  /** Counts one update, exactly as `update` does, and returns its hyperparameters (Adam's t included). */
  countUpdate(): OptimizerHyper;
  /** p's state tensors (OPTIMIZER_SPEC order), made as `update` would make them at p's first update. */
  stateTensors(p: Param<T>): T[];
}

/** Whether an optimizer can run inside a fused step. */
export function isFusable<T extends Tensor>(o: Optimizer<T>): o is FusableOptimizer<T> {
  const f = o as Partial<FusableOptimizer<T>>;
  return typeof f.rule === 'string' && typeof f.countUpdate === 'function' && typeof f.stateTensors === 'function';
}

/** An optimizer whose state can be read, restored (for checkpoints) and released. */
export interface StatefulOptimizer<T extends Tensor> extends Optimizer<T> {
  state(): Promise<OptimizerState>;
  loadState(state: OptimizerState): void;
  dispose(): void;
}

function checkLr(who: string, lr: number): void {
  if (!Number.isFinite(lr) || lr <= 0) throw new RangeError(`${who}: learning rate must be a finite number > 0, got ${lr}`);
}

/** A coefficient such as momentum, decay or beta: 0 <= x < 1. */
function checkUnit(who: string, what: string, x: number): void {
  if (!Number.isFinite(x) || x < 0 || x >= 1) throw new RangeError(`${who}: ${what} must be a finite number in [0, 1), got ${x}`);
}

function gradOf<T extends Tensor>(who: string, p: Param<T>): T {
  if (!p.grad) throw new Error(`${who}: ${p.name} has no gradient (run backward first)`);
  return p.grad;
}

/** p -= lr · ∂L/∂p, the book's SGD. */
export class SGD<T extends Tensor> implements StatefulOptimizer<T>, FusableOptimizer<T> {
  readonly name = 'SGD';
  readonly rule = 'sgd';

  constructor(
    private readonly backend: Backend<T>,
    readonly lr: number,
  ) {
    checkLr('SGD', lr);
  }

  update(params: readonly Param<T>[]): void {
    for (const p of params) this.backend.sgdUpdate(p.value, gradOf('SGD', p), this.lr);
  }

  countUpdate(): OptimizerHyper {
    return { lr: this.lr };
  }

  stateTensors(): T[] {
    return [];
  }

  /** SGD keeps no state. */
  async state(): Promise<OptimizerState> {
    return { step: 0, tensors: {} };
  }

  loadState(state: OptimizerState): void {
    const names = Object.keys(state.tensors);
    if (names.length > 0) throw new RangeError(`SGD: keeps no state, but the state given holds ${names.join(', ')}`);
  }

  dispose(): void {}
}

/**
 * The book's stateful optimizers, one backend op each (`optimizerUpdate`). State tensors are
 * created with `backend.zeros` at a parameter's first update, per parameter name, and live on
 * the backend (GPU buffers on the GPU).
 */
abstract class BackendOptimizer<T extends Tensor> implements StatefulOptimizer<T>, FusableOptimizer<T> {
  abstract readonly name: string;
  protected abstract readonly kind: OptimizerKind;
  private readonly slots = new Map<string, T[]>();
  /** Loaded state of parameters not updated yet (see loadState). */
  private readonly unplaced = new Map<string, Float32Array[]>();
  /** Updates done: Adam's t after the step it counts. */
  protected steps = 0;

  constructor(
    protected readonly backend: Backend<T>,
    readonly lr: number,
  ) {}

  protected abstract hyper(): OptimizerHyper;

  update(params: readonly Param<T>[]): void {
    // Every gradient is checked before the step counts or any parameter moves.
    const grads = params.map((p) => gradOf(this.name, p));
    this.steps += 1;
    const hyper = this.hyper();
    params.forEach((p, i) => this.backend.optimizerUpdate(this.kind, p.value, grads[i]!, this.stateOf(p), hyper));
  }

  get rule(): OptimizerKind {
    return this.kind;
  }

  countUpdate(): OptimizerHyper {
    this.steps += 1;
    return this.hyper();
  }

  stateTensors(p: Param<T>): T[] {
    return this.stateOf(p);
  }

  private stateOf(p: Param<T>): T[] {
    let state = this.slots.get(p.name);
    if (!state) {
      const loaded = this.unplaced.get(p.name);
      if (loaded && loaded[0]!.length !== p.value.size) {
        throw new RangeError(`${this.name}: the loaded state for ${p.name} has ${loaded[0]!.length} values, the parameter ${p.value.size}`);
      }
      state = loaded
        ? loaded.map((values) => this.backend.fromArray(values, p.value.shape))
        : OPTIMIZER_SPEC[this.kind].state.map(() => this.backend.zeros(p.value.shape));
      this.unplaced.delete(p.name);
      this.slots.set(p.name, state);
    } else if (state[0]!.size !== p.value.size) {
      throw new RangeError(`${this.name}: ${p.name} has ${p.value.size} values but its state has ${state[0]!.size}`);
    }
    return state;
  }

  async state(): Promise<OptimizerState> {
    const names = OPTIMIZER_SPEC[this.kind].state;
    const tensors: Record<string, Float32Array> = {};
    for (const [param, state] of this.slots) {
      for (let i = 0; i < state.length; i++) tensors[`${param}.${names[i]}`] = Float32Array.from(await this.backend.read(state[i]!));
    }
    return { step: this.steps, tensors };
  }

  /**
   * Restores a state read by `state()`: the step count and every tensor, by parameter name.
   * Parameters not named in it start from zeros at their next update.
   */
  loadState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new RangeError(`${this.name}: state step must be an integer >= 0, got ${state.step}`);
    const names = OPTIMIZER_SPEC[this.kind].state;
    const byParam = new Map<string, Map<string, Float32Array>>();
    for (const [key, values] of Object.entries(state.tensors)) {
      const dot = key.lastIndexOf('.');
      const stateName = key.slice(dot + 1);
      if (dot <= 0 || !names.includes(stateName)) {
        throw new RangeError(`${this.name}: state tensor '${key}' is not <param>.${names.join('|')}`);
      }
      const param = key.slice(0, dot);
      if (!byParam.has(param)) byParam.set(param, new Map());
      byParam.get(param)!.set(stateName, values);
    }
    const loaded = new Map<string, T[]>();
    for (const [param, found] of byParam) {
      const missing = names.filter((n) => !found.has(n));
      if (missing.length > 0) throw new RangeError(`${this.name}: state for ${param} lacks ${missing.map((n) => `${param}.${n}`).join(', ')}`);
      const sizes = new Set(names.map((n) => found.get(n)!.length));
      if (sizes.size !== 1) throw new RangeError(`${this.name}: state tensors of ${param} differ in size`);
      const current = this.slots.get(param);
      if (current && current[0]!.size !== found.get(names[0]!)!.length) {
        throw new RangeError(`${this.name}: state for ${param} has ${found.get(names[0]!)!.length} values, the parameter ${current[0]!.size}`);
      }
      if (current) {
        names.forEach((n, i) => this.backend.write(current[i]!, found.get(n)!));
        loaded.set(param, current);
      } else {
        // The parameter's shape is known only at its next update: the state is made then.
        this.unplaced.set(param, names.map((n) => found.get(n)!));
      }
    }
    for (const [param, tensors] of this.slots) if (!loaded.has(param)) this.backend.dispose(...tensors);
    this.slots.clear();
    for (const [param, tensors] of loaded) this.slots.set(param, tensors);
    for (const param of this.unplaced.keys()) if (!byParam.has(param)) this.unplaced.delete(param);
    this.steps = state.step;
  }

  dispose(): void {
    for (const tensors of this.slots.values()) this.backend.dispose(...tensors);
    this.slots.clear();
  }
}

/** The two velocity-based optimizers share their hyperparameters and checks. */
abstract class VelocityOptimizer<T extends Tensor> extends BackendOptimizer<T> {
  constructor(backend: Backend<T>, name: string, lr: number, readonly momentum: number) {
    super(backend, lr);
    checkLr(name, lr);
    checkUnit(name, 'momentum', momentum);
  }

  protected hyper(): OptimizerHyper {
    return { lr: this.lr, momentum: this.momentum };
  }
}

/** v = momentum·v − lr·g; p += v. */
export class Momentum<T extends Tensor> extends VelocityOptimizer<T> {
  readonly name = 'Momentum';
  protected readonly kind = 'momentum';

  constructor(backend: Backend<T>, lr = 0.01, momentum = 0.9) {
    super(backend, 'Momentum', lr, momentum);
  }
}

/** The book's Nesterov: v *= momentum; v −= lr·g; p += momentum²·v; p −= (1 + momentum)·lr·g. */
export class Nesterov<T extends Tensor> extends VelocityOptimizer<T> {
  readonly name = 'Nesterov';
  protected readonly kind = 'nesterov';

  constructor(backend: Backend<T>, lr = 0.01, momentum = 0.9) {
    super(backend, 'Nesterov', lr, momentum);
  }
}

/** h += g²; p −= lr·g / (√h + 1e-7). */
export class AdaGrad<T extends Tensor> extends BackendOptimizer<T> {
  readonly name = 'AdaGrad';
  protected readonly kind = 'adagrad';

  constructor(backend: Backend<T>, lr = 0.01) {
    super(backend, lr);
    checkLr('AdaGrad', lr);
  }

  protected hyper(): OptimizerHyper {
    return { lr: this.lr };
  }
}

/** h = decay·h + (1 − decay)·g²; p −= lr·g / (√h + 1e-7). */
export class RMSprop<T extends Tensor> extends BackendOptimizer<T> {
  readonly name = 'RMSprop';
  protected readonly kind = 'rmsprop';

  constructor(backend: Backend<T>, lr = 0.01, readonly decay = 0.99) {
    super(backend, lr);
    checkLr('RMSprop', lr);
    checkUnit('RMSprop', 'decay', decay);
  }

  protected hyper(): OptimizerHyper {
    return { lr: this.lr, decay: this.decay };
  }
}

/**
 * m += (1 − β1)(g − m); v += (1 − β2)(g² − v); p −= lr_t·m / (√v + 1e-7), with
 * lr_t = lr·√(1 − β2^t) / (1 − β1^t) and t counted from 1 (the book's Adam; the bias
 * correction divides).
 */
export class Adam<T extends Tensor> extends BackendOptimizer<T> {
  readonly name = 'Adam';
  protected readonly kind = 'adam';

  constructor(backend: Backend<T>, lr = 0.001, readonly beta1 = 0.9, readonly beta2 = 0.999) {
    super(backend, lr);
    checkLr('Adam', lr);
    checkUnit('Adam', 'beta1', beta1);
    checkUnit('Adam', 'beta2', beta2);
  }

  /** t of the last update (0 before the first). */
  get step(): number {
    return this.steps;
  }

  protected hyper(): OptimizerHyper {
    return { lr: this.lr, beta1: this.beta1, beta2: this.beta2, step: this.steps };
  }
}

/** The book's optimizers by their CLI and URL names. */
export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'] as const;
/** One of OPTIMIZER_NAMES. */
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/**
 * A learning rate each optimizer usually trains the book's nets well with: ch. 5's 0.1 for SGD,
 * ch. 6's optimizer comparison for the rest. The advice of a run that did not learn quotes it.
 */
export const USUAL_LR: Readonly<Record<OptimizerName, number>> = {
  sgd: 0.1,
  momentum: 0.01,
  nesterov: 0.01,
  adagrad: 0.01,
  rmsprop: 0.001,
  adam: 0.001,
};

/** The usual learning rate of an optimizer by its `name` ('SGD', 'Adam', ...); undefined for others. */
export function usualLr(optimizerName: string): number | undefined {
  const key = optimizerName.toLowerCase();
  return (OPTIMIZER_NAMES as readonly string[]).includes(key) ? USUAL_LR[key as OptimizerName] : undefined;
}

/** An optimizer by its CLI name, with the book's default hyperparameters besides lr. */
export function createOptimizer<T extends Tensor>(backend: Backend<T>, name: OptimizerName, lr: number): StatefulOptimizer<T> {
  switch (name) {
    case 'sgd':
      return new SGD(backend, lr);
    case 'momentum':
      return new Momentum(backend, lr);
    case 'nesterov':
      return new Nesterov(backend, lr);
    case 'adagrad':
      return new AdaGrad(backend, lr);
    case 'rmsprop':
      return new RMSprop(backend, lr);
    case 'adam':
      return new Adam(backend, lr);
    default:
      throw new RangeError(`unknown optimizer '${name as string}', expected one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
}
