/**
 * Everything that defines a run, read from and written to the page's URL so that a link repeats
 * the run: same seed, same initial weights, same minibatches. Defaults are the book's
 * train_neuralnet.py (TwoLayerNet 784-50-10, batch 100, lr 0.1, SGD, 10,000 iterations, accuracy
 * on the full sets once per epoch); ch. 6's options (optimizer, BatchNorm, dropout, weight decay)
 * default to off. Only values that differ from these defaults go into the URL.
 */
import {
  formatRunSetting,
  isRunKey,
  MLP_ONLY_KEYS,
  NET_NAMES,
  netDefaults,
  parseInteger,
  parseRunSetting,
  RUN_DEFAULTS,
  SettingError,
  type NetKind,
  type RunKey,
  type RunSettings,
} from 'webgpu-backprop';

export type DeviceName = RunSettings['device'];

/**
 * The nets this page trains: the book's TwoLayerNet (and ch. 6's MultiLayerNet) and ch. 7's
 * SimpleConvNet. DeepConvNet (ch. 8) is `npm start -- --net deep-conv`: on a software adapter
 * one of its steps takes seconds.
 */
export const PAGE_NETS: readonly NetKind[] = ['mlp', 'simple-conv'];

export function isConvNet(s: Pick<RunSettings, 'net'>): boolean {
  return s.net !== 'mlp';
}

/**
 * A convnet scores accuracy on the first CONV_EVAL_IMAGES of each set per evaluation, as the
 * book's train_convnet.py does (evaluate_sample_num_per_epoch=1000): on a software adapter
 * SimpleConvNet takes about a minute for all 70,000 images. evalSubset=0 in the URL asks for
 * all of them.
 */
export const CONV_EVAL_IMAGES = 1000;

/** A run (the same settings `npm start` takes, with the same validation) and the page's own options. */
export interface DemoSettings extends RunSettings {
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
  ...RUN_DEFAULTS,
  hidden: [...RUN_DEFAULTS.hidden],
  steps: 10_000,
  evalSubset: 0,
  evalEvery: 0,
  compareSteps: 50,
  autostart: false,
};

/** Steps of the CPU-vs-GPU race for a convnet: the CPU device takes about a second per SimpleConvNet step. */
export const CONV_COMPARE_STEPS = 10;

/** The settings a net's defaults decide: switching nets moves them to the new net's, unless the user chose them. */
const NET_DEFAULTED = ['optimizer', 'lr', 'evalSubset', 'compareSteps'] as const;

/**
 * A net's own defaults: the book's settings, with what the net trains with by default in the
 * book (a convnet: Adam, lr 0.001, accuracy on 1,000 images of each set per evaluation) and a
 * shorter CPU-vs-GPU race for a convnet.
 */
export function defaultsFor(net: NetKind): DemoSettings {
  if (net === 'mlp') return { ...BOOK_SETTINGS, hidden: [...BOOK_SETTINGS.hidden] };
  return { ...BOOK_SETTINGS, hidden: [...BOOK_SETTINGS.hidden], ...netDefaults(net), net, evalSubset: CONV_EVAL_IMAGES, compareSteps: CONV_COMPARE_STEPS };
}

/**
 * The settings after the form switches to another net: that net's defaults for what its
 * defaults decide (optimizer, learning rate, evaluation subset, race length), everything else kept.
 */
export function withNet(s: Readonly<DemoSettings>, net: NetKind): DemoSettings {
  const from = defaultsFor(s.net);
  const to = defaultsFor(net);
  const next: DemoSettings = { ...s, hidden: [...s.hidden], net };
  // What the old net's defaults set follows the new net's; a value the user chose stays.
  for (const key of NET_DEFAULTED) {
    if (s[key] === from[key]) (next as unknown as Record<string, unknown>)[key] = to[key];
  }
  return next;
}

/** Whether a setting means anything for this net (the MLP-only ones do not for a convnet). */
export function appliesTo(key: Key, net: NetKind): boolean {
  return net === 'mlp' || !(MLP_ONLY_KEYS as readonly string[]).includes(key);
}

export const TRAIN_IMAGES = 60_000;
export const TEST_IMAGES = 10_000;

type Key = keyof DemoSettings;
type PageKey = Exclude<Key, RunKey>;

function int(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = parseInteger(text, min, max);
    if (n === undefined) throw new Error(`an integer from ${min} to ${max}`);
    return n;
  };
}

/** The page's own options; the run's settings parse through src/train/run-settings.ts. */
const PAGE_PARSERS: { [K in PageKey]: (text: string) => DemoSettings[K] } = {
  evalSubset: int(0, TRAIN_IMAGES),
  evalEvery: int(0, 1_000_000),
  compareSteps: int(2, 10_000),
  autostart: (text) => text === '1' || text === 'true',
};

function parseField<K extends Key>(key: K, text: string): DemoSettings[K] {
  if (isRunKey(key)) {
    try {
      const value = parseRunSetting(key, text) as DemoSettings[K];
      // A minibatch comes from the training set (npm start refuses the same, naming the set).
      if (key === 'batch' && (value as number) > TRAIN_IMAGES) throw new Error(`an integer from 1 to ${TRAIN_IMAGES}`);
      return value;
    } catch (e) {
      // The page says "must be …" itself; the requirement is the same words npm start uses.
      throw e instanceof SettingError ? new Error(e.requirement) : e;
    }
  }
  return PAGE_PARSERS[key as PageKey](text) as DemoSettings[K];
}

function isKey(key: string): key is Key {
  return isRunKey(key) || key in PAGE_PARSERS;
}

function format<K extends Key>(key: K, value: DemoSettings[K]): string {
  if (isRunKey(key)) return formatRunSetting(key, value as RunSettings[typeof key]);
  return typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
}

export interface ParsedSettings {
  settings: DemoSettings;
  /** URL parameters that were ignored, and why, for a notice on the page. */
  problems: string[];
}

export function parseSettings(query: URLSearchParams | string): ParsedSettings {
  const params = typeof query === 'string' ? new URLSearchParams(query) : query;
  const problems: string[] = [];
  // The net first: its defaults are what the other parameters differ from.
  let net: NetKind = 'mlp';
  const netText = params.get('net');
  if (netText !== null) {
    try {
      net = parseField('net', netText.trim());
      if (!PAGE_NETS.includes(net)) {
        problems.push(`net=${netText} ignored: this page trains ${PAGE_NETS.join(' or ')} (npm start -- --net ${net} trains it)`);
        net = 'mlp';
      }
    } catch (e) {
      problems.push(`net=${netText} ignored: must be ${(e as Error).message}`);
    }
  }
  const settings = defaultsFor(net);
  for (const [key, text] of params) {
    if (key === 'net') continue;
    if (!isKey(key)) {
      problems.push(`unknown setting '${key}'`);
      continue;
    }
    if (!appliesTo(key, net)) {
      // The same refusal as npm start's: a convnet is built as the book builds it.
      problems.push(`${key}=${text} ignored: it shapes the MLP only; net=${net} is built as the book builds it`);
      continue;
    }
    try {
      setField(settings, key, text);
    } catch (e) {
      problems.push(`${key}=${text} ignored: must be ${(e as Error).message}`);
    }
  }
  return { settings, problems };
}

/** Parses and assigns one field (a form control's text, or a URL parameter). */
export function setField(settings: DemoSettings, key: Key, text: string): void {
  (settings as unknown as Record<Key, unknown>)[key] = parseField(key, text.trim());
}

/** The query string for these settings: only what differs from the book (from the net's own defaults). */
export function toQuery(settings: DemoSettings): string {
  const params = new URLSearchParams();
  const defaults = defaultsFor(settings.net);
  for (const key of Object.keys(BOOK_SETTINGS) as Key[]) {
    if (!appliesTo(key, settings.net)) continue;
    const text = format(key, settings[key]);
    if (key === 'net' ? text !== format(key, BOOK_SETTINGS.net) : text !== format(key, defaults[key])) params.set(key, text);
  }
  return params.toString();
}

export function fieldText(settings: DemoSettings, key: Key): string {
  return format(key, settings[key]);
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
  if (isConvNet(s)) {
    // npm start trains a convnet with its net's defaults (Adam, lr 0.001) and refuses the MLP's flags.
    const conv = defaultsFor(s.net);
    const flags = [
      `--net ${s.net}`,
      `--device ${s.device}`,
      `--steps ${s.steps}`,
      `--batch ${s.batch}`,
      ...(s.optimizer !== conv.optimizer ? [`--optimizer ${s.optimizer}`] : []),
      ...(s.lr !== conv.lr ? [`--lr ${s.lr}`] : []),
      `--seed ${s.seed}`,
    ];
    return `npm start -- ${flags.join(' ')}`;
  }
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

/** The net of these settings as the page names it: 'net 784-50-10' or 'SimpleConvNet'. */
export function netLabel(s: Pick<RunSettings, 'net' | 'hidden'>): string {
  if (s.net !== 'mlp') return NET_NAMES[s.net];
  return `net ${[784, ...s.hidden, 10].join('-')}`;
}
