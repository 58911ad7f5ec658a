/**
 * Everything that defines a run, read from and written to the page's URL so that a link repeats
 * the run: same seed, same initial weights, same minibatches. Defaults are the book's
 * train_neuralnet.py (TwoLayerNet 784-50-10, batch 100, lr 0.1, SGD, 10,000 iterations, accuracy
 * on the full sets once per epoch); ch. 6's options (optimizer, BatchNorm, dropout, weight decay)
 * default to off. Only values that differ from these defaults go into the URL.
 */
import type { ActivationName, NetConfig } from '../../src/nn/multi-layer-net.js';
import { OPTIMIZER_NAMES, type OptimizerName } from '../../src/train/optimizer.js';

export type DeviceName = 'gpu' | 'cpu';
export type InitName = 'std' | 'xavier' | 'he';

export interface DemoSettings {
  device: DeviceName;
  hidden: number[];
  activation: ActivationName;
  init: InitName;
  lr: number;
  /** The update rule (ch. 6.1): sgd as in ch. 5, or momentum, nesterov, adagrad, rmsprop, adam. */
  optimizer: OptimizerName;
  /** A BatchNorm layer between each hidden Affine and its activation (ch. 6.3). */
  batchNorm: boolean;
  /** Fraction of hidden units each Dropout layer drops per step (ch. 6.4.3); 0 for no Dropout layers. */
  dropout: number;
  /** λ of the L2 weight decay (ch. 6.4.2): the loss gains ½λ‖W‖² per weight matrix. */
  weightDecay: number;
  batch: number;
  steps: number;
  seed: number;
  /** Accuracy on the first N images of each set; 0 means the full 60,000 / 10,000. */
  evalSubset: number;
  /** Steps between accuracy evaluations; 0 means once per epoch, as in the book. */
  evalEvery: number;
  /** Steps each device runs in the CPU-vs-GPU panel. */
  compareSteps: number;
  /** Start training as soon as the page is ready (for shared links). */
  autostart: boolean;
}

export const BOOK_SETTINGS: Readonly<DemoSettings> = {
  device: 'gpu',
  hidden: [50],
  activation: 'relu',
  init: 'std',
  lr: 0.1,
  optimizer: 'sgd',
  batchNorm: false,
  dropout: 0,
  weightDecay: 0,
  batch: 100,
  steps: 10_000,
  seed: 42,
  evalSubset: 0,
  evalEvery: 0,
  compareSteps: 50,
  autostart: false,
};

export const TRAIN_IMAGES = 60_000;
export const TEST_IMAGES = 10_000;
/** The book's weight_init_std for init 'std'. */
const INIT_STD = 0.01;

type Key = keyof DemoSettings;
type Parser<K extends Key> = (text: string) => DemoSettings[K];

function int(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw new Error(`an integer from ${min} to ${max}`);
    return n;
  };
}

function choice<C extends string>(choices: readonly C[]): (text: string) => C {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) throw new Error(`one of ${choices.join(', ')}`);
    return text as C;
  };
}

function onOff(text: string): boolean {
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false') return false;
  throw new Error('1 (on) or 0 (off)');
}

/** A finite number in [min, max) (max may be Infinity); `words` is what the message asks for. */
function real(min: number, max: number, words: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n < min || n >= max) throw new Error(words);
    return n;
  };
}

const PARSERS: { [K in Key]: Parser<K> } = {
  device: choice(['gpu', 'cpu'] as const),
  hidden: (text) => {
    const sizes = text.split(',').map((s) => int(1, 4096)(s.trim()));
    if (sizes.length > 6) throw new Error('at most 6 hidden layers');
    return sizes;
  },
  activation: choice(['relu', 'sigmoid'] as const),
  init: choice(['std', 'xavier', 'he'] as const),
  lr: (text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 100) throw new Error('a number > 0 and at most 100');
    return n;
  },
  optimizer: choice(OPTIMIZER_NAMES),
  batchNorm: onOff,
  dropout: real(0, 1, 'a ratio from 0 up to, not including, 1'),
  weightDecay: real(0, Infinity, 'a finite number >= 0'),
  batch: int(1, TRAIN_IMAGES),
  steps: int(1, 1_000_000),
  seed: int(0, 2 ** 32 - 1),
  evalSubset: int(0, TRAIN_IMAGES),
  evalEvery: int(0, 1_000_000),
  compareSteps: int(2, 10_000),
  autostart: (text) => text === '1' || text === 'true',
};

function format<K extends Key>(key: K, value: DemoSettings[K]): string {
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

export interface ParsedSettings {
  settings: DemoSettings;
  /** URL parameters that were ignored, and why, for a notice on the page. */
  problems: string[];
}

export function parseSettings(query: URLSearchParams | string): ParsedSettings {
  const params = typeof query === 'string' ? new URLSearchParams(query) : query;
  const settings: DemoSettings = { ...BOOK_SETTINGS, hidden: [...BOOK_SETTINGS.hidden] };
  const problems: string[] = [];
  for (const [key, text] of params) {
    if (!(key in PARSERS)) {
      problems.push(`unknown setting '${key}'`);
      continue;
    }
    try {
      setField(settings, key as Key, text);
    } catch (e) {
      problems.push(`${key}=${text} ignored: must be ${(e as Error).message}`);
    }
  }
  return { settings, problems };
}

/** Parses and assigns one field (a form control's text, or a URL parameter). */
export function setField(settings: DemoSettings, key: Key, text: string): void {
  (settings as unknown as Record<Key, unknown>)[key] = PARSERS[key](text.trim());
}

/** The query string for these settings: only what differs from the book. */
export function toQuery(settings: DemoSettings): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(BOOK_SETTINGS) as Key[]) {
    const text = format(key, settings[key]);
    if (text !== format(key, BOOK_SETTINGS[key])) params.set(key, text);
  }
  return params.toString();
}

export function fieldText(settings: DemoSettings, key: Key): string {
  return format(key, settings[key]);
}

export function netConfig(s: DemoSettings): NetConfig {
  return {
    inputSize: 784,
    hiddenSizes: s.hidden,
    outputSize: 10,
    activation: s.activation,
    weightInit: s.init,
    weightInitStd: INIT_STD,
    weightDecay: s.weightDecay,
    batchNorm: s.batchNorm,
    dropoutRatio: s.dropout,
    seed: s.seed,
  };
}

/** The book's iter_per_epoch: how many minibatches make one pass over the training set. */
export function iterPerEpoch(s: DemoSettings): number {
  return Math.max(Math.floor(TRAIN_IMAGES / s.batch), 1);
}

export function evalInterval(s: DemoSettings): number {
  return s.evalEvery > 0 ? s.evalEvery : iterPerEpoch(s);
}

/** The same run from the command line (`npm start`), which draws the same weights and batches. */
export function cliCommand(s: DemoSettings): string {
  const flags = [
    `--device ${s.device}`,
    `--steps ${s.steps}`,
    `--batch ${s.batch}`,
    `--lr ${s.lr}`,
    // ch. 6's flags only when used, so the book's run reads as the book's command.
    ...(s.optimizer !== BOOK_SETTINGS.optimizer ? [`--optimizer ${s.optimizer}`] : []),
    `--hidden ${s.hidden.join(',')}`,
    `--activation ${s.activation}`,
    `--init ${s.init}`,
    ...(s.batchNorm ? ['--batch-norm'] : []),
    ...(s.dropout > 0 ? [`--dropout ${s.dropout}`] : []),
    ...(s.weightDecay > 0 ? [`--weight-decay ${s.weightDecay}`] : []),
    `--seed ${s.seed}`,
  ];
  return `npm start -- ${flags.join(' ')}`;
}
