/**
 * npm start: trains the book's TwoLayerNet (784-50-10, batch 100, lr 0.1, std 0.01) on MNIST,
 * on the GPU by default, and reports accuracy and speed.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Backend } from '../backend/backend.js';
import { CpuBackend } from '../backend/cpu-backend.js';
import { GpuBackend } from '../backend/gpu-backend.js';
import { CpuDataset } from '../data/cpu-dataset.js';
import type { Dataset } from '../data/dataset.js';
import { GpuDataset } from '../data/gpu-dataset.js';
import { MNIST_CLASSES, sliceSplit, type Mnist, type MnistSplit } from '../data/mnist.js';
import { openNodeGpu } from '../device/discover-node.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import { loadMnist } from '../node/load-mnist.js';
import { preparesFor } from '../nn/layer.js';
import { encodeModel, loadModel, readOptimizerState, readTensors, saveModel } from '../nn/model-file.js';
import { GpuError } from '../device/errors.js';
import { decodeSafetensors } from '../io/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import { createOptimizer } from '../train/optimizer.js';
import { createNet, describeNet, MLP_ONLY_KEYS, netDefaults, parseRunSetting, RUN_DEFAULTS, runSettingsOf, SettingError, validRunSettings, type RunKey, type RunSettings } from '../train/run-settings.js';
import { DivergenceError, Trainer, type TrainResult } from '../train/trainer.js';
import { intFlag, parseFlags, runCli, UsageError } from '../../tools/cli-args.js';
import { median } from '../../tools/format.js';
import { skippedLines } from './format.js';

const USAGE = `usage: npm start -- [options]
  --device gpu|cpu        where to train (default gpu)
  --net mlp|simple-conv|deep-conv
                          the net (default mlp: the TwoLayerNet of --hidden); simple-conv is
                          the book's ch. 7 SimpleConvNet, deep-conv its ch. 8 DeepConvNet, both
                          trained as train_convnet.py (Adam, lr 0.001) unless told otherwise
  --steps N               training steps (default 1000, the book's iterations)
  --epochs N              train N epochs of 60000/batch steps instead of --steps
  --batch N               minibatch size (default 100)
  --optimizer sgd|momentum|nesterov|adagrad|rmsprop|adam
                          the book's update rules (default sgd); momentum 0.9, RMSprop decay
                          0.99, Adam betas 0.9/0.999; --lr stays 0.1 unless given (Adam and
                          AdaGrad usually want --lr 0.001 to 0.01)
  --lr X                  learning rate (default 0.1)
  --hidden 50 | 100,50    hidden layer sizes (default 50: the book's TwoLayerNet)
  --activation relu|sigmoid (default relu)
  --init std|xavier|he    weight initialization (default std: N(0, 0.01²) as in the book)
  --weight-decay L        L2 weight decay λ: loss + 0.5·λ·Σ‖W‖² (default 0)
  --dropout R             a Dropout layer after each hidden activation, dropping a fraction R
                          of the units in training (the book's dropout_ratio; default 0: none)
  --batch-norm            a BatchNorm layer between each hidden Affine and its activation
  --seed N                seed for weights and minibatches (default 42)
  --eval-images N          score accuracy on the first N images of each set (default: all; a
                          convnet's train accuracy on the first 10000)
  --save FILE             write the trained weights as safetensors
  --load FILE             start from weights in a safetensors file
  --checkpoint FILE       where Ctrl-C and periodic checkpoints go (default checkpoint.safetensors)
  --checkpoint-every N    also write it every N steps (default 0: only on Ctrl-C), so a lost
                          GPU device or a crash loses at most N steps
  --resume FILE           continue an interrupted run from its checkpoint (same settings;
                          --steps may extend it, --device may move it)
  --fused auto|on|off     run each step of an MLP as the fused kernels (2 dispatches, the
                          whole forward, backward and update) instead of layer by layer: on
                          demands it (an error says why a net cannot), off never; auto
                          (default) where the net allows and the adapter is a hardware GPU
  --steps-per-submit K    record K steps into each submit to the GPU (default 1); the losses
                          and checkpoints are the same for any K
  --json                  print one JSON object as the last line
  --verbose               also say which GPU drivers device discovery passed over, and why
  --help                  this text
`;

/** Training images a convnet's train accuracy is scored on. */
const CONV_TRAIN_EVAL = 10_000;

/** MNIST's training set: the most a minibatch can hold, and what an epoch of steps covers. */
const TRAIN_IMAGES = 60_000;

/** The run's settings (one validation: src/train/run-settings.ts) and the CLI's own options. */
interface Settings extends RunSettings {
  evalImages?: number;
  save?: string;
  load?: string;
  checkpoint: string;
  checkpointEvery: number;
  resume?: string;
  /** TrainConfig.fused: undefined lets the Trainer choose. */
  fused: boolean | undefined;
  stepsPerSubmit: number;
  json: boolean;
  verbose: boolean;
}

/** The flag of a run setting: weightDecay → --weight-decay. */
function flagOf(key: RunKey): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function runSetting<K extends RunKey>(key: K, text: string | undefined, defaults: Readonly<RunSettings> = RUN_DEFAULTS): RunSettings[K] {
  if (text === undefined) return defaults[key];
  try {
    return parseRunSetting(key, text);
  } catch (e) {
    if (e instanceof SettingError) throw new UsageError(`--${flagOf(key)} must be ${e.requirement}, got '${text}'`);
    throw e;
  }
}

export function parseSettings(argv: string[]): Settings | 'help' {
  const f = parseFlags(argv, {
    device: { type: 'string' },
    net: { type: 'string' },
    steps: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    optimizer: { type: 'string' },
    hidden: { type: 'string' },
    activation: { type: 'string' },
    init: { type: 'string' },
    'weight-decay': { type: 'string' },
    dropout: { type: 'string' },
    'batch-norm': { type: 'boolean' },
    seed: { type: 'string' },
    'eval-images': { type: 'string' },
    save: { type: 'string' },
    load: { type: 'string' },
    checkpoint: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    resume: { type: 'string' },
    fused: { type: 'string' },
    'steps-per-submit': { type: 'string' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (f.fused !== undefined && !['auto', 'on', 'off'].includes(f.fused)) throw new UsageError(`--fused must be auto, on or off, got '${f.fused}'`);
  if (f.help) return 'help';
  if (f.steps !== undefined && f.epochs !== undefined) throw new UsageError('--steps and --epochs exclude each other');
  if (f.resume !== undefined && f.load !== undefined) throw new UsageError('--resume and --load exclude each other (a checkpoint holds the weights)');
  const net = runSetting('net', f.net);
  const defaults: RunSettings = { ...RUN_DEFAULTS, ...netDefaults(net) };
  if (net !== 'mlp') {
    const mlpOnly = MLP_ONLY_KEYS.map(flagOf).filter((flag) => f[flag as keyof typeof f] !== undefined);
    if (mlpOnly.length > 0) throw new UsageError(`--${mlpOnly[0]} shapes the MLP only; --net ${net} is built as the book builds it`);
  }
  const batch = runSetting('batch', f.batch);
  if (batch > TRAIN_IMAGES) throw new UsageError(`--batch must be at most the ${TRAIN_IMAGES} training images, got ${batch}`);
  const steps = f.epochs !== undefined ? intFlag(f.epochs, 'epochs', 1) * Math.max(Math.floor(TRAIN_IMAGES / batch), 1) : runSetting('steps', f.steps);
  return {
    device: runSetting('device', f.device),
    net,
    steps,
    batch,
    lr: runSetting('lr', f.lr, defaults),
    optimizer: runSetting('optimizer', f.optimizer, defaults),
    hidden: runSetting('hidden', f.hidden),
    activation: runSetting('activation', f.activation),
    init: runSetting('init', f.init),
    weightDecay: runSetting('weightDecay', f['weight-decay']),
    dropout: runSetting('dropout', f.dropout),
    batchNorm: !!f['batch-norm'],
    seed: runSetting('seed', f.seed),
    evalImages: f['eval-images'] === undefined ? undefined : intFlag(f['eval-images'], 'eval-images', 0),
    save: f.save,
    load: f.load,
    checkpoint: f.checkpoint ?? 'checkpoint.safetensors',
    checkpointEvery: intFlag(f['checkpoint-every'], 'checkpoint-every', 0, 0),
    resume: f.resume,
    fused: f.fused === 'on' ? true : f.fused === 'off' ? false : undefined,
    stepsPerSubmit: intFlag(f['steps-per-submit'], 'steps-per-submit', 1, 1),
    json: !!f.json,
    verbose: !!f.verbose,
  };
}

interface Resume {
  bytes: Uint8Array;
  step: number;
  rngState: number[];
}

async function main(): Promise<void> {
  const parsed = parseSettings(process.argv.slice(2));
  if (parsed === 'help') return void process.stdout.write(USAGE);
  let settings = parsed;
  let resume: Resume | undefined;
  if (settings.resume) ({ settings, resume } = await readCheckpoint(settings, process.argv.slice(2)));
  const mnist = await loadMnist();
  let ctx: GpuContext | undefined;
  try {
    if (settings.device === 'gpu') {
      ctx = await openNodeGpu();
      const gpu = new GpuBackend(ctx);
      await train(gpu, (split) => new GpuDataset(gpu, split), settings, mnist, resume);
    } else {
      const cpu = new CpuBackend('f32');
      await train(cpu, (split) => new CpuDataset(cpu, split), settings, mnist, resume);
    }
  } finally {
    ctx?.destroy();
  }
}

/** A checkpoint's settings replace the flags, except --steps/--epochs, --device, --save, --checkpoint and --json. */
async function readCheckpoint(flags: Settings, argv: string[]): Promise<{ settings: Settings; resume: Resume }> {
  const path = flags.resume!;
  const bytes = await readModelFile(path, '--resume');
  const meta = decodeSafetensors(bytes, path).metadata;
  if (meta.kind !== 'checkpoint' || !meta.settings || !meta.step || !meta.rng_state) {
    throw new UsageError(`--resume: ${path} is not a checkpoint written by npm start (no step/RNG state in its metadata)`);
  }
  let saved: RunSettings;
  try {
    saved = validRunSettings(JSON.parse(meta.settings) as Record<string, unknown>);
  } catch (e) {
    throw new UsageError(`--resume: ${path} holds settings this version cannot run: ${(e as Error).message}`);
  }
  const given = (flag: RegExp) => argv.some((a) => flag.test(a));
  const settings: Settings = {
    ...flags,
    ...saved,
    steps: given(/^--(steps|epochs)(=|$)/) ? flags.steps : saved.steps,
    // A run may move between devices: the checkpoint holds plain f32 weights.
    device: given(/^--device(=|$)/) ? flags.device : saved.device,
    resume: path,
  };
  const step = Number(meta.step);
  if (step >= settings.steps) throw new UsageError(`--resume: the checkpoint is at step ${step}; give --steps above it to train further`);
  return { settings, resume: { bytes, step, rngState: JSON.parse(meta.rng_state) as number[] } };
}

async function train<T extends Tensor>(
  backend: Backend<T>,
  dataset: (split: MnistSplit) => Dataset<T>,
  s: Settings,
  mnist: Mnist,
  resume: Resume | undefined,
): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const trainSet = dataset(mnist.train);
  const testSet = dataset(mnist.test);
  // A convnet's forward pass over all 60,000 training images costs minutes on a software
  // adapter: its train accuracy is scored on the first CONV_TRAIN_EVAL (the test set stays whole).
  const trainCount = Math.min(s.evalImages ?? (s.net === 'mlp' ? mnist.train.count : CONV_TRAIN_EVAL), mnist.train.count);
  const testCount = Math.min(s.evalImages ?? mnist.test.count, mnist.test.count);
  const trainEval = trainCount === mnist.train.count ? trainSet : dataset(sliceSplit(mnist.train, 0, trainCount));
  const testEval = testCount === mnist.test.count ? testSet : dataset(sliceSplit(mnist.test, 0, testCount));
  const net = createNet(backend, s, trainSet.sampleShape, MNIST_CLASSES);
  if (backend instanceof GpuBackend) await backend.prepare([], preparesFor(net.layers));
  if (s.load) loadModel(net, await readModelFile(s.load, '--load'), s.load);
  const optimizer = createOptimizer(backend, s.optimizer, s.lr);
  if (resume) {
    loadModel(net, resume.bytes, s.resume!);
    const state = readOptimizerState(resume.bytes, s.resume!);
    if (state) optimizer.loadState(state);
  }
  const trainer = new Trainer(net, trainSet, testSet, optimizer, { train: trainEval, test: testEval });
  out(`device: ${backend.device} — ${backend.label}`);
  if (s.verbose && backend instanceof GpuBackend) skippedLines(backend.ctx).forEach(out);
  out(`${describeNet(net, s)}, ${s.steps} steps of batch ${s.batch}, ${s.optimizer} lr ${s.lr}, seed ${s.seed}`);
  const scored = [trainEval !== trainSet && `train accuracy on the first ${trainEval.count}`, testEval !== testSet && `test accuracy on the first ${testEval.count}`].filter(Boolean);
  out(`data: MNIST ${mnist.train.count} train / ${mnist.test.count} test images${scored.length ? `; ${scored.join(', ')}` : ''}`);
  if (resume) out(`resuming ${s.resume} at step ${resume.step}`);

  // First Ctrl-C: finish the step in flight, keep everything, write a checkpoint. Second: quit now.
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  const progress = progressReporter(s.steps, out, resume?.step ?? 0);
  const runSettings = JSON.stringify(runSettingsOf(s));
  const checkpointMeta = (step: number, rngState: number[]) => ({ kind: 'checkpoint', step: String(step), rng_state: JSON.stringify(rngState), settings: runSettings });
  let lastCheckpoint: number | undefined;
  let result: TrainResult;
  try {
    result = await trainer.run(
      {
        steps: s.steps,
        batchSize: s.batch,
        seed: s.seed,
        readEvery: 50,
        evalChunk: net.evalChunk,
        checkpointEvery: s.checkpointEvery || undefined,
        resume: resume && { step: resume.step, rngState: resume.rngState },
        fused: s.fused,
        stepsPerSubmit: s.stepsPerSubmit,
      },
      {
        onCheckpoint: async (c) => {
          await writeAtomically(s.checkpoint, encodeModel(net, c.weights, checkpointMeta(c.step, c.rngState), c.optimizer));
          lastCheckpoint = c.step;
        },
        onProgress: progress.update,
        onEpoch: (e) => progress.note(`epoch ${e.epoch} (step ${e.step}): train acc ${e.trainAcc.toFixed(4)}, test acc ${e.testAcc.toFixed(4)}`),
        shouldStop: () => interrupted,
      },
    );
  } catch (e) {
    progress.stop();
    if (e instanceof DivergenceError && s.save) {
      await writeAtomically(s.save, await saveModel(net));
      out(`saved the last good weights (before step ${e.step}) to ${s.save}`);
    }
    if (e instanceof GpuError && lastCheckpoint !== undefined) {
      out(`the GPU failed (${e.message}); the checkpoint at step ${lastCheckpoint} is in ${s.checkpoint}`);
      out(`resume with: npm start -- --resume ${s.checkpoint}   (add --device cpu to continue on the CPU)`);
    }
    throw e;
  } finally {
    progress.stop();
    process.removeListener('SIGINT', onSigint);
  }
  if (result.stoppedAt !== undefined) {
    const values = await readTensors(net);
    const meta = checkpointMeta(result.stoppedAt, result.rngState);
    await writeAtomically(s.checkpoint, encodeModel(net, values, meta, await optimizer.state()));
    out(`interrupted before step ${result.stoppedAt}: checkpoint (weights, optimizer state, step, RNG state) written to ${s.checkpoint}`);
    out(`resume with: npm start -- --resume ${s.checkpoint}`);
    process.exitCode = 130;
  }
  const last = result.epochs.at(-1);
  const msStep = median(result.msPerStep);
  if (last && result.stoppedAt === undefined) {
    out(`final test accuracy ${last.testAcc.toFixed(4)} (train ${last.trainAcc.toFixed(4)}) after ${s.steps} steps`);
  }
  out(`wall time ${(result.wallMs / 1000).toFixed(1)} s, median ${msStep.toFixed(2)} ms/step (${(1000 / msStep).toFixed(1)} steps/s), ${result.fused ? 'fused steps' : 'layer by layer'}`);
  // A run whose loss stayed finite can still have failed: say so, and why (learning-check.ts).
  if (result.learning) {
    process.stderr.write(`error: the run did not learn: ${result.learning.message}\n`);
    process.exitCode = 1;
  }
  if (s.save && result.stoppedAt === undefined) {
    await writeAtomically(s.save, await saveModel(net));
    out(`saved weights to ${s.save}`);
  }
  net.dispose();
  trainSet.dispose();
  testSet.dispose();
  if (trainEval !== trainSet) trainEval.dispose();
  if (testEval !== testSet) testEval.dispose();
  if (s.json) {
    out(JSON.stringify({
      settings: { ...s, json: undefined },
      device: backend.device,
      adapter: backend.label,
      first_step: result.firstStep,
      stopped_at: result.stoppedAt ?? null,
      train_acc: last?.trainAcc ?? null,
      test_acc: last?.testAcc ?? null,
      epochs: result.epochs,
      wall_ms: result.wallMs,
      median_ms_per_step: msStep,
      fused: result.fused,
      ms_per_step: result.msPerStep,
      losses: Array.from(result.losses.subarray(result.firstStep, result.stoppedAt ?? s.steps)),
      learning_problem: result.learning && {
        kind: result.learning.kind,
        message: result.learning.message,
        first_loss: result.learning.firstLoss,
        last_loss: result.learning.lastLoss,
      },
    }));
  }
}

/**
 * A live bar on a terminal; in a log (CI, a pipe) one line per tenth of the run instead of a
 * redrawn bar.
 */
function progressReporter(total: number, out: (line: string) => void, first: number) {
  const t0 = performance.now();
  const speed = (done: number) => ((done - first) / ((performance.now() - t0) / 1000)).toFixed(1);
  if (!process.stdout.isTTY) {
    let nextTenth = Math.floor((first * 10) / total) + 1;
    return {
      update(done: number, loss: number) {
        if (done * 10 < nextTenth * total && done !== total) return;
        nextTenth = Math.floor((done * 10) / total) + 1;
        out(`step ${done}/${total}  loss ${loss.toFixed(4)}  ${speed(done)} steps/s`);
      },
      note: out,
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({
    format: 'train |{bar}| {value}/{total} steps | loss {loss} | {speed} steps/s | ETA {eta_formatted}',
    etaBuffer: 200,
    hideCursor: true,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, first, { loss: '-', speed: '-' });
  let done = first;
  return {
    update(d: number, loss: number) {
      done = d;
      bar.update(d, { loss: loss.toFixed(4), speed: speed(d) });
    },
    note(line: string) {
      bar.stop();
      out(line);
      if (done < total) bar.start(total, done, { loss: '-', speed: '-' });
    },
    stop: () => bar.stop(),
  };
}

async function readModelFile(path: string, flag: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** A crash mid-write leaves the old file, never half a new one. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

if (import.meta.url === `file://${process.argv[1]}`) await runCli(USAGE, main);
