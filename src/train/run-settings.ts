/**
 * Everything that defines a training run of the book's nets, with one validation: `npm start`'s
 * flags, the demo page's URL and form, and the settings a checkpoint keeps all go through
 * `parseRunSetting`, so a value is refused with the same words wherever it comes from.
 */
import type { Backend } from '../backend/backend.js';
import { DeepConvNet, SimpleConvNet, type ImageShape } from '../nn/conv-nets.js';
import { bookLayers } from '../nn/conv-relu-pool.js';
import { MultiLayerNet, type ActivationName, type NetConfig } from '../nn/multi-layer-net.js';
import type { Sequential } from '../nn/sequential.js';
import type { Tensor } from '../tensor/tensor.js';
import type { WeightInit } from '../nn/init.js';
import { OPTIMIZER_NAMES, type OptimizerName } from './optimizer.js';

/**
 * Which of the book's nets a run trains: 'mlp' is the TwoLayerNet / MultiLayerNet of the hidden
 * sizes (ch. 5-6), 'simple-conv' the SimpleConvNet of ch. 7, 'deep-conv' the DeepConvNet of ch. 8.
 */
export type NetKind = 'mlp' | 'simple-conv' | 'deep-conv';
export const NET_KINDS: readonly NetKind[] = ['mlp', 'simple-conv', 'deep-conv'];
/** Each net's name in the book. */
export const NET_NAMES: Readonly<Record<NetKind, string>> = { mlp: 'MultiLayerNet', 'simple-conv': 'SimpleConvNet', 'deep-conv': 'DeepConvNet' };

/** What defines a training run of the book's nets on MNIST. */
export interface RunSettings {
  device: 'gpu' | 'cpu';
  /** The net: an MLP shaped by the settings below, or one of the book's convnets. */
  net: NetKind;
  steps: number;
  batch: number;
  lr: number;
  /** The update rule (ch. 6.1): sgd as in ch. 5, or momentum, nesterov, adagrad, rmsprop, adam. */
  optimizer: OptimizerName;
  /** Hidden layer sizes: [50] is the book's TwoLayerNet. */
  hidden: number[];
  activation: ActivationName;
  init: WeightInit;
  /** λ of the L2 weight decay (ch. 6.4.2): the loss gains ½λ‖W‖² per weight matrix. */
  weightDecay: number;
  /** Fraction of hidden units each Dropout layer drops per step (ch. 6.4.3); 0 for none. */
  dropout: number;
  /** A BatchNorm layer between each hidden Affine and its activation (ch. 6.3). */
  batchNorm: boolean;
  /** Picks the initial weights, the minibatches and the dropout masks. */
  seed: number;
}

/** The book's train_neuralnet.py, shortened to 1,000 steps: TwoLayerNet 784-50-10, batch 100, SGD lr 0.1. */
export const RUN_DEFAULTS: Readonly<RunSettings> = {
  // In the order the demo page's links list them.
  device: 'gpu',
  net: 'mlp',
  hidden: [50],
  activation: 'relu',
  init: 'std',
  lr: 0.1,
  optimizer: 'sgd',
  batchNorm: false,
  dropout: 0,
  weightDecay: 0,
  batch: 100,
  steps: 1000,
  seed: 42,
};

/** The name of one run setting. */
export type RunKey = keyof RunSettings;
/** Every run setting, in the order links list them. */
export const RUN_KEYS = Object.keys(RUN_DEFAULTS) as RunKey[];

/** The book's weight_init_std for init 'std'. */
export const INIT_STD = 0.01;

/** A setting given a value it cannot take; `requirement` completes "must be …". */
export class SettingError extends Error {
  override name = 'SettingError';
  constructor(
    readonly key: string,
    readonly text: string,
    readonly requirement: string,
  ) {
    super(`${key} must be ${requirement}, got '${text}'`);
  }
}

type Parser<K extends RunKey> = (text: string) => RunSettings[K] | undefined;

/** A whole number written in digits, from min to max; undefined for anything else. */
export function parseInteger(text: string, min: number, max: number): number | undefined {
  const n = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

function int(min: number, max: number): [(text: string) => number | undefined, string] {
  return [(text) => parseInteger(text, min, max), `an integer from ${min} to ${max}`];
}

function choice<C extends string>(choices: readonly C[]): [(text: string) => C | undefined, string] {
  return [(text) => ((choices as readonly string[]).includes(text) ? (text as C) : undefined), `one of ${choices.join(', ')}`];
}

/** A finite number in [min, max) (max may be Infinity). */
function real(min: number, max: number, words: string): [(text: string) => number | undefined, string] {
  return [
    (text) => {
      const n = Number(text);
      return text !== '' && Number.isFinite(n) && n >= min && n < max ? n : undefined;
    },
    words,
  ];
}

const MAX_HIDDEN_LAYERS = 6;
const MAX_UNITS = 4096;

const RULES: { [K in RunKey]: [Parser<K>, string] } = {
  device: choice(['gpu', 'cpu'] as const),
  net: choice(NET_KINDS),
  steps: int(1, 10_000_000),
  batch: int(1, 1_000_000),
  lr: [
    (text) => {
      const n = Number(text);
      return text !== '' && Number.isFinite(n) && n > 0 ? n : undefined;
    },
    'a finite number > 0',
  ],
  optimizer: choice(OPTIMIZER_NAMES),
  hidden: [
    (text) => {
      const sizes = text.split(',').map((s) => int(1, MAX_UNITS)[0](s.trim()));
      return sizes.length <= MAX_HIDDEN_LAYERS && sizes.every((n) => n !== undefined) ? (sizes as number[]) : undefined;
    },
    `1 to ${MAX_HIDDEN_LAYERS} comma-separated layer sizes from 1 to ${MAX_UNITS}`,
  ],
  activation: choice(['relu', 'sigmoid'] as const),
  init: choice(['std', 'xavier', 'he'] as const),
  weightDecay: real(0, Infinity, 'a finite number >= 0'),
  dropout: real(0, 1, 'a ratio from 0 up to, not including, 1'),
  batchNorm: [(text) => (text === '1' || text === 'true' ? true : text === '0' || text === 'false' ? false : undefined), '1 (on) or 0 (off)'],
  seed: int(0, 2 ** 32 - 1),
};

/** Whether a name is a run setting. */
export function isRunKey(key: string): key is RunKey {
  return key in RULES;
}

/** One setting from text (a flag's value, a URL parameter, a form field); a SettingError if it cannot be. */
export function parseRunSetting<K extends RunKey>(key: K, text: string): RunSettings[K] {
  const [parse, requirement] = RULES[key];
  const value = parse(text.trim());
  if (value === undefined) throw new SettingError(key, text, requirement);
  return value;
}

/** A setting as text, the inverse of parseRunSetting. */
export function formatRunSetting<K extends RunKey>(key: K, value: RunSettings[K]): string {
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

/**
 * Settings read back from somewhere that may be stale or foreign (a checkpoint's metadata): every
 * known key validated as if typed, unknown keys refused, missing ones from the defaults.
 */
export function validRunSettings(values: Record<string, unknown>): RunSettings {
  const settings: RunSettings = { ...RUN_DEFAULTS, hidden: [...RUN_DEFAULTS.hidden] };
  for (const [key, value] of Object.entries(values)) {
    if (!isRunKey(key)) throw new SettingError(key, String(value), `one of the settings ${RUN_KEYS.join(', ')}`);
    const text = Array.isArray(value) ? value.join(',') : typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    (settings as unknown as Record<RunKey, unknown>)[key] = parseRunSetting(key, text);
  }
  return settings;
}

/** The settings that shape a run (what a checkpoint keeps), without the faces' own fields. */
export function runSettingsOf(s: RunSettings): RunSettings {
  return Object.fromEntries(RUN_KEYS.map((k) => [k, s[k]])) as unknown as RunSettings;
}

/**
 * The settings that shape only an MLP: the convnets are built as the book builds them, so a run
 * of one refuses these when given.
 */
export const MLP_ONLY_KEYS: readonly RunKey[] = ['hidden', 'activation', 'init', 'weightDecay', 'dropout', 'batchNorm'];

/**
 * Defaults that differ by net: the convnets train as the book's train_convnet.py does, with
 * Adam at lr 0.001.
 */
export function netDefaults(net: NetKind): Partial<RunSettings> {
  return net === 'mlp' ? {} : { optimizer: 'adam', lr: 0.001 };
}

/** The net these settings describe, for a data set of `inputSize` features and `classes` classes. */
export function netConfigOf(s: RunSettings, inputSize = 784, classes = 10): NetConfig {
  return {
    inputSize,
    hiddenSizes: s.hidden,
    outputSize: classes,
    activation: s.activation,
    weightInit: s.init,
    weightInitStd: INIT_STD,
    weightDecay: s.weightDecay,
    batchNorm: s.batchNorm,
    dropoutRatio: s.dropout,
    seed: s.seed,
  };
}

/** The image shape [channels, height, width] a convnet takes, from a dataset's sample shape. */
function imageOf(sampleShape: readonly number[]): ImageShape {
  if (sampleShape.length === 2) return [1, sampleShape[0]!, sampleShape[1]!];
  if (sampleShape.length === 3) return [sampleShape[0]!, sampleShape[1]!, sampleShape[2]!];
  throw new RangeError(`a convnet needs images: samples of shape [height, width] or [channels, height, width], got [${sampleShape.join(', ')}]`);
}

/**
 * The net these settings describe, on `backend`, for samples of `sampleShape` ([28, 28] for
 * MNIST) and `classes` classes: a MultiLayerNet, SimpleConvNet or DeepConvNet.
 */
export function createNet<T extends Tensor>(backend: Backend<T>, s: RunSettings, sampleShape: readonly number[] = [28, 28], classes = 10): Sequential<T> {
  if (s.net === 'simple-conv') return new SimpleConvNet(backend, { inputDim: imageOf(sampleShape), outputSize: classes, seed: s.seed });
  if (s.net === 'deep-conv') return new DeepConvNet(backend, { inputDim: imageOf(sampleShape), outputSize: classes, seed: s.seed });
  const inputSize = sampleShape.reduce((a, b) => a * b, 1);
  const image = sampleShape.length === 2 ? ([sampleShape[0]!, sampleShape[1]!] as const) : undefined;
  return new MultiLayerNet(backend, { ...netConfigOf(s, inputSize, classes), inputImage: image });
}

/** A one-line description of the net, as `npm start` and reports print it. */
export function describeNet(net: Sequential<Tensor>, s: RunSettings): string {
  if (s.net !== 'mlp') return `${NET_NAMES[s.net]} (${bookLayers(net.layers).map((l) => l.name).join(' → ')})`;
  const extras = [s.batchNorm && 'batch norm', s.dropout > 0 && `dropout ${s.dropout}`, s.weightDecay > 0 && `weight decay ${s.weightDecay}`].filter(Boolean);
  const sizes = net instanceof MultiLayerNet ? net.layerSizes().join('-') : '';
  return `net ${sizes} (${[s.activation, `init ${s.init}`, ...extras].join(', ')})`;
}
