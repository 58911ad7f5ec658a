/**
 * Each optimizer's update in the book's notation (ch. 6.1), with this run's learning rate, for
 * the training panel's explanation of a step. The hyperparameters besides lr are the book's
 * defaults, as createOptimizer uses them.
 */
import type { OptimizerName } from 'webgpu-backprop';

export function updateRule(optimizer: OptimizerName, lr: number): string {
  const g = '∂loss/∂W';
  switch (optimizer) {
    case 'sgd':
      return `SGD, W ← W − ${lr}·${g}`;
    case 'momentum':
      return `Momentum, v ← 0.9·v − ${lr}·${g}, W ← W + v (v, a velocity per weight, gathers speed over the steps)`;
    case 'nesterov':
      return `Nesterov's momentum, v ← 0.9·v − ${lr}·${g}, W ← W + 0.81·v − 1.9·${lr}·${g} (momentum that looks one step ahead)`;
    case 'adagrad':
      return `AdaGrad, h ← h + (${g})², W ← W − ${lr}·${g}/√h (weights that have moved much take smaller steps)`;
    case 'rmsprop':
      return `RMSprop, h ← 0.99·h + 0.01·(${g})², W ← W − ${lr}·${g}/√h (AdaGrad that forgets old gradients)`;
    case 'adam':
      return `Adam, m and v follow ${g} and its square (β₁ 0.9, β₂ 0.999), W ← W − ${lr}·m̂/√v̂ with m̂, v̂ corrected for their start at 0`;
  }
}
