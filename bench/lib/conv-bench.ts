/**
 * The conv comparison: the book's SimpleConvNet training step (train_convnet.py: Adam lr 0.001,
 * batch 100) on our GPU and CPU devices, TensorFlow.js (webgpu, wasm, cpu), jax-js (webgpu) and
 * the book's own NumPy code, in one process, interleaved. Every engine starts from our initial
 * weights and trains on the same batches in the same order; every step reads the loss back (the
 * only sync point for every engine), so the timer brackets work finished, not submitted.
 *
 * Rounds: in each, every engine still running takes one step, in an order that rotates every
 * round, so a change in the machine's load hits all of them alike. The slow peers (TF.js, jax-js:
 * seconds a step on a software adapter) run a few rounds; ours and NumPy run more. A ratio
 * between two engines is taken per round from the rounds both ran, and the report gives the
 * median of those paired ratios. An engine that cannot train this net (TF.js wasm has no
 * Conv2DBackpropFilter kernel) is reported as unsupported, with the library's own words.
 *
 * The engines must train alike: after each step, each engine's loss is held against the
 * reference's (ours on the CPU: f32 storage, f64 accumulation) at the same step, within
 * LOSS_TOLERANCE; an engine that trained apart keeps its timings, but no target is judged on it.
 */
import type { TrainingEngine } from './engine.js';
import { CONV_MODEL, type ConvSpec } from './conv-model.js';
import { now, sig, summarize, type Summary } from './stats.js';

/** The training set as the peers upload it: pixels in [0, 1], [count, 784], and the labels. */
export interface ConvTrainSet {
  x: Float32Array<ArrayBuffer>;
  labels: Uint8Array;
  count: number;
}

/** One engine training SimpleConvNet, driven like a TrainingEngine (step records, readLoss waits). */
export interface ConvEngine extends Pick<TrainingEngine, 'name' | 'label' | 'how' | 'step' | 'readLoss' | 'dispose'> {
  /** Called, untimed, before each of its steps: TF.js makes its backend the current one. */
  activate?(): Promise<void>;
}

/** How to make an engine; its setup (data upload, compiling) is timed apart and not in any step. */
export interface ConvEngineSource {
  name: string;
  open(): Promise<ConvEngine>;
}

export const CONV_ENGINES = ['ours-gpu', 'ours-cpu', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu', 'jax-webgpu', 'numpy'] as const;
export type ConvEngineName = (typeof CONV_ENGINES)[number];

export interface ConvPlan {
  batch: number;
  lr: number;
  /** Synced steps per engine before timing (pipelines, JITs, pools). */
  warmup: number;
  /** Timed steps (= rounds) of ours and NumPy. */
  steps: number;
  /** Timed steps of the slow engines (seconds a step on a software adapter). */
  slowSteps: number;
  /** The engines that take slowSteps. */
  slow: string[];
  /** The engines to run, in the order of the first round. */
  engines: ConvEngineName[];
  /**
   * How the peers wait for their loss: 'spin', as they ship (in Node, dawn.node's polling spins
   * on a core while they wait), or 'gentle', through the same pollGently as ours, so that the
   * ratios compare the kernels alone.
   */
  peerWaits: 'spin' | 'gentle';
}

/**
 * Largest |loss − reference loss| at any step for two engines to count as training alike. Engines
 * that differ only in float32 rounding agree to 1e-7–1e-6 over the first steps; Adam moves every
 * weight by about lr whatever the size of its gradient, so a gradient that rounding leaves near
 * zero may step either way, and jax-js (whose sums run in another order) ends 5e-5 apart after
 * four steps. A different update is well outside: TF.js's own Adam (ε on √v̂, not on √v) ends
 * 1e-3 apart after four steps, and a wrong gradient more.
 */
export const LOSS_TOLERANCE = 5e-4;

export interface ConvEngineResult {
  name: string;
  label: string;
  how: string;
  /** unsupported: the library cannot train this net; unavailable: not installed here (NumPy without python3). */
  status: 'ok' | 'unsupported' | 'unavailable' | 'failed';
  /** Why it did not run, in the library's words. */
  reason?: string;
  /** Setup (data upload, building the net), not timed in any step. */
  setupMs?: number;
  /** Warm-up steps: the first one includes compiling (pipelines, jit). */
  warmupMs?: number[];
  /** ms per timed step, each synced. */
  ms?: Summary;
  /** The loss after each step it took, warm-up included (index i: after step i + 1). */
  losses: number[];
  /** Its losses against the reference's at the same steps. */
  agreement?: { reference: string; steps: number; maxDiff: number; ok: boolean };
}

/** Paired per-round ratio: `other` ms ÷ `ours` ms (above 1: `ours` is faster). */
export interface ConvRatio {
  ours: string;
  other: string;
  ratio: Summary;
}

/** A target or aim, judged from a paired ratio's median. */
export interface ConvTarget {
  what: string;
  /** The ratio's median, or null when one side did not run. */
  ratio: number | null;
  atLeast: number;
  /** null: not judged (an engine missing, or one that trained apart), with why. */
  pass: boolean | null;
  note?: string;
  /** An aim is reported like a target but is what we reach for, not what we promise. */
  aim?: boolean;
}

export interface ConvBenchResult {
  how: string;
  model: string;
  plan: ConvPlan;
  reference: string | null;
  lossTolerance: number;
  engines: ConvEngineResult[];
  ratios: ConvRatio[];
  targets: ConvTarget[];
  /** Rounds run, and the order of the first. */
  rounds: number;
  wallMs: number;
}

export const CONV_HOW =
  'every engine in one process (Node) or one page (browser) from the same initial weights on the same batches; each round one synced step per engine still running, ' +
  'the order rotating every round; ratio = the other engine\'s ms ÷ ours per round, median over the rounds both ran (above 1: ours is faster)';

/** The targets on a software adapter, and the aim: ours-gpu against each, from the paired ratios. */
export const CONV_TARGETS: readonly { other: string; atLeast: number; aim?: boolean }[] = [
  { other: 'ours-cpu', atLeast: 1.5 },
  { other: 'tfjs-webgpu', atLeast: 30 },
  { other: 'jax-webgpu', atLeast: 2 },
  { other: 'numpy', atLeast: 1, aim: true },
];

/** "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'": a library that lacks an op, not a broken run. */
export function isUnsupported(message: string): boolean {
  return /not registered for backend|not (yet )?(implemented|supported)|unsupported/i.test(message);
}

function failure(name: string, e: unknown): Pick<ConvEngineResult, 'status' | 'reason'> {
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
  const status = isUnsupported(message) ? 'unsupported' : /\bnot available\b/.test(message) ? 'unavailable' : 'failed';
  return { status, reason: message || `${name} failed` };
}

/** The rounds each engine takes: warm-up first, then timed; the slow ones stop early. */
export function convSteps(plan: ConvPlan, name: string): number {
  return plan.slow.includes(name) ? plan.slowSteps : plan.steps;
}

export function convBatchCount(plan: ConvPlan): number {
  return plan.warmup + Math.max(plan.steps, plan.slowSteps);
}

export async function convBench(
  sources: readonly ConvEngineSource[],
  batches: readonly Uint32Array[],
  plan: ConvPlan,
  spec: ConvSpec,
  progress: (line: string) => void = () => {},
  {
    clock = now,
    settle,
    waitFor = (_name, loss) => loss,
  }: {
    /** Milliseconds; tests pass a fake one. */
    clock?: () => number;
    /**
     * Called, untimed, before every step: Node collects garbage there, so that one engine's
     * garbage (TF.js makes plenty) is not collected in the next engine's step.
     */
    settle?: () => void;
    /** Wraps each engine's wait for its loss (the peers' gentle polling); the default awaits it as is. */
    waitFor?: (name: string, loss: Promise<number>) => Promise<number>;
  } = {},
): Promise<ConvBenchResult> {
  if (batches.length < convBatchCount(plan)) throw new RangeError(`convBench: ${batches.length} batches for ${convBatchCount(plan)} steps`);
  const start = clock();
  const results = new Map<string, ConvEngineResult>();
  const live = new Map<string, ConvEngine>();
  const timed = new Map<string, number[]>();
  /** Per round, each engine's ms (absent when it did not step that round). */
  const rounds: Map<string, number>[] = [];

  const stop = (name: string, e: unknown) => {
    Object.assign(results.get(name)!, failure(name, e));
    progress(`conv ${name}: ${results.get(name)!.status}: ${results.get(name)!.reason}`);
    try {
      live.get(name)?.dispose();
    } catch {
      // A failed engine may not dispose cleanly; its error is already reported.
    }
    live.delete(name);
  };
  const step = async (name: string, engine: ConvEngine, indices: Uint32Array): Promise<number> => {
    await engine.activate?.();
    settle?.();
    const t0 = clock();
    engine.step(indices);
    const loss = await waitFor(name, engine.readLoss());
    const ms = clock() - t0;
    if (!Number.isFinite(loss)) throw new Error(`the loss is ${loss} at step ${results.get(name)!.losses.length + 1}; the run diverged`);
    results.get(name)!.losses.push(loss);
    return ms;
  };

  try {
    for (const source of sources) {
      const result: ConvEngineResult = { name: source.name, label: '', how: '', status: 'ok', losses: [] };
      results.set(source.name, result);
      const t0 = clock();
      try {
        const engine = await source.open();
        Object.assign(result, { label: engine.label, how: engine.how, setupMs: sig(clock() - t0) });
        live.set(source.name, engine);
        progress(`conv ${source.name}: ready in ${((clock() - t0) / 1000).toFixed(1)} s (${engine.label})`);
      } catch (e) {
        stop(source.name, e);
      }
    }
    for (const [name, engine] of [...live]) {
      const warm: number[] = [];
      try {
        for (let i = 0; i < plan.warmup; i++) warm.push(sig(await step(name, engine, batches[i]!)));
        results.get(name)!.warmupMs = warm;
        progress(`conv ${name}: warm-up ${warm.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`);
      } catch (e) {
        stop(name, e);
      }
    }

    const total = Math.max(plan.steps, plan.slowSteps);
    for (let r = 0; r < total; r++) {
      const names = [...live.keys()].filter((name) => r < convSteps(plan, name));
      if (names.length === 0) break;
      const shift = r % names.length;
      const order = [...names.slice(shift), ...names.slice(0, shift)];
      const round = new Map<string, number>();
      for (const name of order) {
        const engine = live.get(name);
        if (!engine) continue;
        try {
          const ms = await step(name, engine, batches[plan.warmup + r]!);
          round.set(name, ms);
          (timed.get(name) ?? timed.set(name, []).get(name)!).push(ms);
        } catch (e) {
          stop(name, e);
        }
      }
      rounds.push(round);
      progress(`conv round ${r + 1}/${total}: ${order.filter((n) => round.has(n)).map((n) => `${n} ${round.get(n)!.toFixed(0)} ms`).join(', ')}`);
    }
  } finally {
    for (const engine of live.values()) engine.dispose();
  }

  for (const [name, samples] of timed) results.get(name)!.ms = summarize(samples);
  const engines = [...results.values()];
  const reference = ['ours-cpu', 'ours-gpu', 'numpy'].find((n) => results.get(n)?.status === 'ok' && results.get(n)!.losses.length > 0) ?? null;
  if (reference) {
    const ref = results.get(reference)!.losses;
    for (const e of engines) {
      if (e.name === reference || e.losses.length === 0) continue;
      const n = Math.min(e.losses.length, ref.length);
      const maxDiff = Math.max(...e.losses.slice(0, n).map((loss, i) => Math.abs(loss - ref[i]!)));
      e.agreement = { reference, steps: n, maxDiff: sig(maxDiff, 3), ok: maxDiff <= LOSS_TOLERANCE };
      if (!e.agreement.ok) progress(`conv ${e.name}: trained apart from ${reference} (max |loss difference| ${maxDiff.toExponential(2)} over ${n} steps)`);
    }
  }
  const ratios = pairedRatios(rounds, engines);
  return {
    how: plan.peerWaits === 'gentle' ? `${CONV_HOW}; the peers wait for their loss through pollGently, as ours does (--peer-waits gentle)` : CONV_HOW,
    model: `${CONV_MODEL}; batch ${spec.batch}, lr ${spec.lr}, seed ${spec.seed}`,
    plan,
    reference,
    lossTolerance: LOSS_TOLERANCE,
    engines,
    ratios,
    targets: convTargets(engines, ratios),
    rounds: rounds.length,
    wallMs: sig(clock() - start),
  };
}

/** For ours-gpu and ours-cpu against every other engine: the other's ms ÷ ours, per round both ran. */
export function pairedRatios(rounds: readonly Map<string, number>[], engines: readonly ConvEngineResult[]): ConvRatio[] {
  const out: ConvRatio[] = [];
  for (const ours of ['ours-gpu', 'ours-cpu']) {
    for (const other of engines) {
      if (other.name === ours || (ours === 'ours-cpu' && other.name === 'ours-gpu')) continue;
      const r = rounds.filter((x) => x.has(ours) && x.has(other.name)).map((x) => x.get(other.name)! / x.get(ours)!);
      if (r.length === 0) continue;
      const s = summarize(r);
      out.push({ ours, other: other.name, ratio: { ...s, median: sig(s.median, 3), min: sig(s.min, 3), max: sig(s.max, 3) } });
    }
  }
  return out;
}

export function convTargets(engines: readonly ConvEngineResult[], ratios: readonly ConvRatio[]): ConvTarget[] {
  const byName = new Map(engines.map((e) => [e.name, e]));
  return CONV_TARGETS.map(({ other, atLeast, aim }) => {
    const what = `ours-gpu ≥ ${atLeast}× ${other}${aim ? ' (aim: the book\'s NumPy step on the same cores)' : ''}`;
    const r = ratios.find((x) => x.ours === 'ours-gpu' && x.other === other);
    const apart = [byName.get('ours-gpu'), byName.get(other)].find((e) => e?.agreement && !e.agreement.ok);
    const notRun = ['ours-gpu', other].find((n) => byName.get(n)?.status !== 'ok');
    if (notRun) {
      const e = byName.get(notRun);
      return { what, ratio: null, atLeast, pass: null, aim, note: e ? `${notRun} ${e.status}: ${e.reason}` : `${notRun} not run` };
    }
    if (!r) return { what, ratio: null, atLeast, pass: null, aim, note: `no round ran both ours-gpu and ${other}` };
    if (apart) return { what, ratio: r!.ratio.median, atLeast, pass: null, aim, note: `${apart.name} trained apart from ${apart.agreement!.reference}` };
    return { what, ratio: r!.ratio.median, atLeast, pass: r!.ratio.median >= atLeast, aim };
  });
}
