/**
 * Dawn's `skip_validation` toggle, measured (#16): the host time to record and submit one step of
 * the seed's TwoLayerNet (784-50-10, batch 100, SGD), layer by layer and fused, and the wall time
 * of a step with the GPU waited for every N steps, with Dawn's command validation on (as every
 * device opens) against off. A measurement only: validation is what keeps bad input safe, so the
 * engine never turns it off.
 *
 * One device per process. Two Dawn instances in one process, one of them created with the
 * toggle, segfaulted with the driver's environment set in-process and hung with
 * VK_ICD_FILENAMES set outside; so this parent spawns itself (`--child on|off`) once per arm and
 * per round, the order flipping every round (on, off; off, on; …), each child opening one device
 * (bench/lib/skip-validation-child.ts), checking that the toggle took effect, timing both paths,
 * printing one JSON line and destroying its device. The parent pairs each round's two children
 * and reports the medians over rounds and the median of the per-round ratios (validation on ÷
 * off: above 1, skipping validation saves that factor).
 *
 *   node --import ./tools/register.mjs bench/skip-validation.ts [--rounds N] [--out FILE]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adapterLabel, type AdapterDescription } from 'webgpu-backprop';
import { gpuDeviceNodes, SWIFTSHADER_ICD, type AdapterChoice } from 'webgpu-backprop/node';
import { choiceFlag, intFlag, parseFlags, runCli, UsageError } from '../tools/cli-args.js';
import { table } from '../tools/format.js';
import { nodeData } from './cli/data.js';
import { loadAverage, machine } from './cli/machine.js';
import { runArm, SKIP_VALIDATION_FLAG, type ArmPlan, type ArmResult, type PathResult, type Validation } from './lib/skip-validation-child.js';
import { sig, summarize, type Summary } from './lib/stats.js';

const USAGE = `usage: node --import ./tools/register.mjs bench/skip-validation.ts [options]
  --rounds N          rounds, each one process with validation on and one with it off (default 9)
  --out FILE          the result JSON (default ${join(tmpdir(), 'webgpu-backprop-skip-validation-<date>.json')})
  --steps N           timed steps per path in each process (default 300)
  --warmup N          untimed steps per path first (default 10)
  --sync-every N      wait for the GPU every N steps (untimed in the host time; the wall time's window) (default 10)
  --no-mnist          synthetic data of MNIST's shapes instead of the MNIST files
  --quick             1 round, 3 + 20 steps, a small synthetic set: checks that it runs (timings mean nothing)
  --adapter auto|hardware|software   which adapter (default auto: a GPU where the machine has one)
  --seed N            weights and batches (default 42)
  --child-timeout S   seconds a child may take before it is killed (default 300)
  --verbose           pass the children's progress through
  --help              this text
`;

const SCHEMA = 'webgpu-backprop-skip-validation/1';

const HOW =
  "each round runs two processes, one per arm, in alternating order (on, off; off, on; …); each creates one Dawn instance with create(flags) — [] for validation on, ['" +
  SKIP_VALIDATION_FLAG +
  "'] for off, which dawn.node passes to requestDevice as a DawnTogglesDescriptor (skip_validation is a device toggle) — opens its device with openDevice as openNodeGpu does, " +
  'checks with two invalid but harmless calls that validation is as asked, then times a fresh TwoLayerNet with SGD on each path: host µs per step with performance.now() ' +
  'around GpuDataset.batch, net.gradient, SGD.update, disposing the batch and flush (fused: FusedMlpStep.step and flush), as bench/lib/host-time.ts does, the GPU waited for every ' +
  'syncEvery steps outside that timing; wall ms per step over each window of syncEvery steps, its wait included. Per arm and round: the median over its steps (wall: over its windows); ' +
  'summary: the medians over rounds, and the median (min–max) of the per-round ratios on ÷ off';

interface Options {
  rounds: number;
  out: string;
  plan: ArmPlan;
  mnist: boolean;
  quick: boolean;
  adapter: AdapterChoice;
  childTimeoutS: number;
  verbose: boolean;
  child: Validation | null;
  /** The child's adapter source label, as openNodeGpu would name the driver. */
  source: string;
}

function parseOptions(argv: string[]): Options | 'help' {
  const f = parseFlags(argv, {
    rounds: { type: 'string' },
    out: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    'sync-every': { type: 'string' },
    'no-mnist': { type: 'boolean' },
    quick: { type: 'boolean' },
    adapter: { type: 'string' },
    seed: { type: 'string' },
    'child-timeout': { type: 'string' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean' },
    // What the parent passes its children.
    child: { type: 'string' },
    source: { type: 'string' },
  });
  if (f.help) return 'help';
  const quick = !!f.quick;
  const plan: ArmPlan = {
    warmup: intFlag(f.warmup, 'warmup', quick ? 3 : 10, 1),
    steps: intFlag(f.steps, 'steps', quick ? 20 : 300),
    syncEvery: intFlag(f['sync-every'], 'sync-every', 10),
    seed: intFlag(f.seed, 'seed', 42, 0),
    batch: 100,
    hidden: 50,
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    rounds: intFlag(f.rounds, 'rounds', quick ? 1 : 9),
    out: resolve(f.out ?? join(tmpdir(), `webgpu-backprop-skip-validation-${stamp}.json`)),
    plan,
    mnist: !f['no-mnist'],
    quick,
    adapter: choiceFlag(f.adapter, 'adapter', ['auto', 'hardware', 'software'] as const, 'auto'),
    childTimeoutS: intFlag(f['child-timeout'], 'child-timeout', 300),
    verbose: !!f.verbose,
    child: f.child === undefined ? null : choiceFlag(f.child, 'child', ['on', 'off'] as const, 'on'),
    source: f.source ?? 'Dawn',
  };
}

// ---------------------------------------------------------------------------------------------
// The child: one arm, one device, one JSON line.

async function childMain(o: Options, validation: Validation): Promise<never> {
  try {
    const data = await nodeData(o.mnist, o.plan.seed, o.quick);
    const r = await runArm(validation, o.adapter, o.source, data.mnist, o.plan, (line) => process.stderr.write(`${line}\n`));
    await new Promise<void>((done) => process.stdout.write(`${JSON.stringify(r)}\n`, () => done()));
    // Dawn's instance lives on (kept on purpose, see discover-node.ts): leave without waiting for it.
    process.exit(0);
  } catch (e) {
    const err = e as Error;
    // The error's name too (NoAdapterError, GpuError), which the parent passes on in its message.
    process.stderr.write(`error: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}\n`);
    if (process.env.DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------------------------
// The parent.

/**
 * The driver the children use, chosen as openNodeGpu chooses it but set in their environment
 * before they start: the user's VK_ICD_FILENAMES / VK_DRIVER_FILES; else the system loader where
 * the machine has a GPU (or --adapter hardware); else SwiftShader; else the system loader.
 */
function chooseDriver(choice: AdapterChoice): { env: Record<string, string>; source: string } {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return { env: {}, source: 'Dawn, Vulkan ICD from VK_ICD_FILENAMES' };
  if (choice !== 'software' && (gpuDeviceNodes().length > 0 || choice === 'hardware')) return { env: {}, source: 'Dawn, system Vulkan' };
  // (--adapter hardware has returned above.)
  if (existsSync(SWIFTSHADER_ICD)) return { env: { VK_ICD_FILENAMES: SWIFTSHADER_ICD }, source: 'Dawn, SwiftShader Vulkan ICD' };
  return { env: {}, source: 'Dawn, system Vulkan' };
}

function childArgs(o: Options, validation: Validation, source: string): string[] {
  const p = o.plan;
  const args = ['--child', validation, '--source', source, '--adapter', o.adapter, '--warmup', `${p.warmup}`, '--steps', `${p.steps}`, '--sync-every', `${p.syncEvery}`, '--seed', `${p.seed}`];
  if (!o.mnist) args.push('--no-mnist');
  if (o.quick) args.push('--quick');
  return args;
}

/** Runs one child to its JSON line; rejects naming the arm, the round and the cause. */
function runChild(o: Options, validation: Validation, round: number, env: NodeJS.ProcessEnv, source: string): Promise<ArmResult> {
  const what = `round ${round}, validation ${validation}`;
  // This file, as tsx or the bundle runs it, with the same Node flags (--import ./tools/register.mjs).
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...childArgs(o, validation, source)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (o.verbose) process.stderr.write(s.replace(/^(?=.)/gm, `  [${validation}] `));
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.childTimeoutS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${what}: the child process could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = stderr.trim().split('\n').slice(-12).join('\n');
      const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (timedOut) return reject(new Error(`${what}: the child took over ${o.childTimeoutS} s and was killed (--child-timeout); its last stderr:\n${tail}`));
      if (code !== 0 || !line) return reject(new Error(`${what}: the child ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${line ? '' : ' without its result line'}; its last stderr:\n${tail}`));
      try {
        resolvePromise(JSON.parse(line) as ArmResult);
      } catch (e) {
        reject(new Error(`${what}: the child's result line is not JSON (${(e as Error).message})`));
      }
    });
  });
}

interface PathRatios {
  host: number | null;
  /** The same for the 10th percentile of host µs: the steps least disturbed by the adapter's own threads. */
  hostP10: number | null;
  wall: number | null;
}

interface Round {
  round: number;
  order: Validation[];
  on: ArmResult;
  off: ArmResult;
  /** validation on ÷ off, per path: host µs (medians, and p10s) and wall ms per step (medians). */
  ratios: Record<string, PathRatios>;
}

interface PathSummary {
  name: string;
  dispatchesPerStep: number | null;
  hostUs: { on: Summary; off: Summary; ratio: Summary };
  hostP10Us: { on: Summary; off: Summary; ratio: Summary };
  wallMs: { on: Summary; off: Summary; ratio: Summary };
  /** Whether every round's two arms ended with the same weights, bit for bit. */
  sameWeights: boolean;
}

export interface SkipValidationResult {
  schema: typeof SCHEMA;
  date: string;
  how: string;
  toggle: { flag: string; stage: string; passed: string };
  adapter: (AdapterDescription & { label: string }) | null;
  driver: string | null;
  /** Whether every child's probe found validation as its arm asked. */
  verified: boolean;
  verification: string;
  environment: Record<string, unknown>;
  settings: { rounds: number; plan: ArmPlan; data: 'mnist' | 'synthetic'; quick: boolean; adapter: AdapterChoice; childTimeoutS: number };
  rounds: Round[];
  summary: Record<string, PathSummary>;
  /** Startup per arm: ms to an open device, and to compiled pipelines (over rounds). */
  startup: { openMs: { on: Summary; off: Summary }; prepareMs: { on: Summary; off: Summary } };
  notes: string[];
  runtime_s: number;
}

const VERIFICATION =
  'each child, on its own device, before timing: a dispatch whose two writable storage bindings alias one 16-byte buffer (validation rejects it at encoder.finish() and drops the ' +
  'command buffer, so the buffer stays zero; unvalidated, the shader writes 7 and 9 into it) and createBuffer with MAP_READ | STORAGE usage, each in a validation error scope. ' +
  "probe.found is 'on' when both calls were rejected, 'off' when both went through; verified when it matches every child's arm";

function pathOf(arm: ArmResult, path: string): PathResult | undefined {
  return arm.paths.find((p) => p.path === path);
}

function roundRatios(on: ArmResult, off: ArmResult): Record<string, PathRatios> {
  const ratios: Record<string, PathRatios> = {};
  for (const p of on.paths) {
    const q = pathOf(off, p.path);
    ratios[p.path] = {
      host: p.hostUs && q?.hostUs ? sig(p.hostUs.median / q.hostUs.median, 4) : null,
      hostP10: p.hostUs && q?.hostUs ? sig(p.hostUs.p10 / q.hostUs.p10, 4) : null,
      wall: p.wallMs && q?.wallMs ? sig(p.wallMs.median / q.wallMs.median, 4) : null,
    };
  }
  return ratios;
}

function summarizeRounds(rounds: Round[]): Record<string, PathSummary> {
  const out: Record<string, PathSummary> = {};
  for (const path of ['layers', 'fused']) {
    const arm = (v: Validation) => rounds.map((r) => pathOf(r[v], path)).filter((p): p is PathResult => !!p?.hostUs);
    const on = arm('on');
    const off = arm('off');
    if (on.length === 0 || off.length === 0) continue;
    const ratio = (k: keyof PathRatios) => summarize(rounds.map((r) => r.ratios[path]?.[k]).filter((x): x is number => typeof x === 'number'));
    out[path] = {
      name: on[0]!.name,
      dispatchesPerStep: on[0]!.dispatchesPerStep ?? null,
      hostUs: { on: summarize(on.map((p) => p.hostUs!.median)), off: summarize(off.map((p) => p.hostUs!.median)), ratio: ratio('host') },
      hostP10Us: { on: summarize(on.map((p) => p.hostUs!.p10)), off: summarize(off.map((p) => p.hostUs!.p10)), ratio: ratio('hostP10') },
      wallMs: { on: summarize(on.map((p) => p.wallMs!.median)), off: summarize(off.map((p) => p.wallMs!.median)), ratio: ratio('wall') },
      sameWeights: rounds.every((r) => pathOf(r.on, path)?.weights === pathOf(r.off, path)?.weights),
    };
  }
  return out;
}

/** What does not add up in a round: different adapters, dispatch counts or weights across its arms. */
function roundNotes(r: Round): string[] {
  const notes: string[] = [];
  if (r.on.adapter.description !== r.off.adapter.description || r.on.adapter.device !== r.off.adapter.device) {
    notes.push(`round ${r.round}: the arms ran on different adapters (${adapterLabel(r.on.adapter)}; ${adapterLabel(r.off.adapter)})`);
  }
  for (const p of r.on.paths) {
    const q = pathOf(r.off, p.path);
    if (p.dispatchesPerStep !== q?.dispatchesPerStep) notes.push(`round ${r.round}, ${p.path}: ${p.dispatchesPerStep} dispatches a step with validation on, ${q?.dispatchesPerStep} off`);
    if (p.weights !== q?.weights) notes.push(`round ${r.round}, ${p.path}: the trained weights differ between the arms (${p.weights} on, ${q?.weights} off)`);
  }
  for (const a of [r.on, r.off]) {
    if (a.probe.found !== a.validation) {
      notes.push(`round ${r.round}: the child asked for validation ${a.validation} but the probe found ${a.probe.found} (dispatch: ${a.probe.aliasedDispatch.error ?? 'no error'}, words ${a.probe.aliasedDispatch.words.join(',')}; buffer: ${a.probe.mapReadStorageBuffer.error ?? 'no error'})`);
    }
  }
  return notes;
}

const f = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${sig(x, digits)}`);
const range = (s: Summary, digits = 3) => `${f(s.median, digits)} (${f(s.min, digits)}–${f(s.max, digits)})`;

function report(r: SkipValidationResult): string {
  const rows: (string | number)[][] = [
    ['step', 'dispatches', 'host µs, on', 'off', 'on ÷ off', 'host p10 µs, on', 'off', 'on ÷ off', 'wall ms/step, on', 'off', 'on ÷ off', 'rounds'],
  ];
  for (const s of Object.values(r.summary)) {
    rows.push([
      s.name,
      f(s.dispatchesPerStep),
      f(s.hostUs.on.median),
      f(s.hostUs.off.median),
      `${range(s.hostUs.ratio)}x`,
      f(s.hostP10Us.on.median),
      f(s.hostP10Us.off.median),
      `${range(s.hostP10Us.ratio)}x`,
      f(s.wallMs.on.median),
      f(s.wallMs.off.median),
      `${range(s.wallMs.ratio)}x`,
      s.hostUs.ratio.n,
    ]);
  }
  const lines = [
    `Dawn skip_validation A/B on ${r.adapter?.label ?? 'an unknown adapter'}, ${r.settings.data} data, ${r.settings.plan.steps} timed steps a path, GPU waited for every ${r.settings.plan.syncEvery}`,
    table(rows),
    `validation on (Dawn's default) against off (skip_validation); medians over rounds of each process's median (host p10: of its 10th percentile); ratios: the median (min–max) of each round's on ÷ off (above 1: skipping validation is faster)`,
    `startup: device open ${f(r.startup.openMs.on.median)} ms on, ${f(r.startup.openMs.off.median)} ms off; pipelines compiled by ${f(r.startup.prepareMs.on.median)} ms on, ${f(r.startup.prepareMs.off.median)} ms off`,
    `toggle verified in every child: ${r.verified ? 'yes' : 'NO'} (validation-off probes: the aliased dispatch ran, the MAP_READ|STORAGE buffer was made; validation-on probes: both rejected)`,
    `load average before ${(r.environment.load_before as number[]).join(' ')}, after ${(r.environment.load_after as number[]).join(' ')}; ${r.runtime_s} s`,
  ];
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

async function parentMain(o: Options): Promise<void> {
  const started = performance.now();
  const loadBefore = loadAverage();
  const { env: driverEnv, source } = chooseDriver(o.adapter);
  // Drivers look for a Wayland display while adapters are enumerated and libwayland complains
  // when XDG_RUNTIME_DIR is unset: give the children an empty one, as discover-node.ts does.
  const quiet = process.platform === 'linux' && !process.env.XDG_RUNTIME_DIR?.startsWith('/') ? mkdtempSync(join(tmpdir(), 'webgpu-backprop-')) : null;
  const env: NodeJS.ProcessEnv = { ...process.env, ...driverEnv, ...(quiet ? { XDG_RUNTIME_DIR: quiet } : {}) };
  const progress = (line: string) => process.stderr.write(`[skip-validation ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  progress(`${o.rounds} round(s) of two processes; driver: ${env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || 'the system Vulkan loader'}; load ${loadBefore.join(' ')}`);
  const rounds: Round[] = [];
  try {
    for (let i = 0; i < o.rounds; i++) {
      const order: Validation[] = i % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
      const arms: Partial<Record<Validation, ArmResult>> = {};
      for (const v of order) {
        arms[v] = await runChild(o, v, i + 1, env, source);
        const p = arms[v].paths.map((x) => (x.hostUs ? `${x.path} ${x.hostUs.median} µs host, ${x.wallMs!.median} ms wall` : `${x.path} skipped`)).join('; ');
        progress(`round ${i + 1}/${o.rounds}, validation ${v} (probe: ${arms[v].probe.found}): ${p}`);
      }
      const round: Round = { round: i + 1, order, on: arms.on!, off: arms.off!, ratios: roundRatios(arms.on!, arms.off!) };
      rounds.push(round);
    }
  } finally {
    if (quiet) rmSync(quiet, { recursive: true, force: true });
  }
  const notes = rounds.flatMap(roundNotes);
  const verified = rounds.every((r) => r.on.probe.found === 'on' && r.off.probe.found === 'off');
  const first = rounds[0]!.on.adapter;
  const startup = (k: 'openMs' | 'prepareMs') => ({ on: summarize(rounds.map((r) => r.on[k])), off: summarize(rounds.map((r) => r.off[k])) });
  const result: SkipValidationResult = {
    schema: SCHEMA,
    date: new Date().toISOString(),
    how: HOW,
    toggle: {
      flag: SKIP_VALIDATION_FLAG,
      stage: 'device (Dawn Toggle::SkipValidation, ToggleStage::Device)',
      passed: "dawn.node's create(flags): its TogglesLoader turns enable-dawn-features=… into a DawnTogglesDescriptor chained to the instance, to adapter enumeration and to every requestDevice",
    },
    adapter: { ...first, label: adapterLabel(first) },
    driver: rounds[0]!.on.driver,
    verified,
    verification: VERIFICATION,
    environment: { ...machine(), load_before: loadBefore, load_after: loadAverage() },
    settings: { rounds: o.rounds, plan: o.plan, data: o.mnist ? 'mnist' : 'synthetic', quick: o.quick, adapter: o.adapter, childTimeoutS: o.childTimeoutS },
    rounds,
    summary: summarizeRounds(rounds),
    startup: { openMs: startup('openMs'), prepareMs: startup('prepareMs') },
    notes,
    runtime_s: sig((performance.now() - started) / 1000, 3),
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${report(result)}\n\nwrote ${o.out}\n`);
  if (!verified) throw new Error('the skip_validation toggle did not take effect as asked in every child (see the notes): the timings compare nothing');
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (o.child) await childMain(o, o.child);
  if (o.rounds < 1) throw new UsageError('--rounds must be >= 1');
  await parentMain(o);
}

await runCli(USAGE, main);
