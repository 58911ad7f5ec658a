import type { AdapterChoice } from 'webgpu-backprop/node';
import { choiceFlag, intFlag, parseFlags, UsageError } from '../../tools/cli-args.js';
import { CONV_ENGINES, type ConvEngineName } from '../lib/conv-bench.js';
import { BROWSER_CONV_ENGINES } from '../lib/conv-sources.js';
import { ENGINE_NAMES, type EngineName } from '../lib/engine.js';
import { FULL_PLAN, QUICK_PLAN, type Plan } from '../lib/plan.js';

/**
 * `gpu-vs-cpu` times our two devices interleaved (the GPU-not-slower target); `host` the host
 * time to record and submit one step, per net and path, and its dispatches; `long-run` is the
 * real-GPU target (10,000 steps through the Trainer): Node only, hardware adapters only in a
 * full run. `conv` times SimpleConvNet's step on ours, TF.js, jax-js (and NumPy, in Node); its
 * peers take seconds a step on a software adapter, so it runs only when asked for (`--only conv`).
 */
export const SECTIONS = ['steps', 'gpu-vs-cpu', 'kernels', 'overhead', 'crossover', 'host', 'long-run', 'conv'] as const;
/** The matmul comparison with TF.js is wired into the bench page only, so it is a browser section. */
export const BROWSER_SECTIONS = ['steps', 'gpu-vs-cpu', 'kernels', 'matmul-vs-tfjs', 'overhead', 'crossover', 'host', 'conv'] as const;
export type Section = (typeof SECTIONS)[number] | (typeof BROWSER_SECTIONS)[number];
/** Which bench reads the command line: `npm run bench` (Node) or `npm run bench:browser`. */
export type Where = 'node' | 'browser';

/** The conv engines each bench can start: a page cannot start python3, so NumPy is Node's alone. */
function convEnginesIn(where: Where): readonly ConvEngineName[] {
  return where === 'browser' ? BROWSER_CONV_ENGINES : CONV_ENGINES;
}

export interface BenchOptions {
  plan: Plan;
  json: boolean;
  /** Folder for the result JSON and SVG; the repo's bench/results unless --out. */
  out: string | undefined;
  mnist: boolean;
  adapter: AdapterChoice;
  sections: Section[];
  engines: EngineName[];
}

export function usage(command: string, engines: readonly EngineName[], sections: readonly Section[] = SECTIONS, where: Where = 'node'): string {
  return `usage: ${command} -- [options]
  --quick                 a few steps of everything (checks the bench runs; timings mean nothing)
  --json                  print the result as one JSON object on the last line of stdout
  --out DIR               write <date>-<where>.json and the crossover SVG there (default bench/results)
  --no-mnist              train on synthetic data of MNIST's shapes instead of the MNIST files
  --adapter auto|hardware|software   which WebGPU adapter (default auto: hardware when there is one)
  --only ${sections.join(',')}
                          run only these sections (default all${sections.includes('conv') ? ' but conv' : ''})
  --engines ${engines.join(',')}
                          training engines to run (default all of these)
  --seed N                weights and batches (default ${FULL_PLAN.seed})
  --steps N               timed steps synced every step (default ${FULL_PLAN.train.steps})
  --windows N             timed windows of 100 steps synced once (default ${FULL_PLAN.train.windows})
${sections.includes('conv') ? convUsage(where) : ''}  --help                  this text
`;
}

function convUsage(where: Where): string {
  const node = where === 'node';
  return `  --conv-engines ${convEnginesIn(where).join(',')}
                          engines of the conv section (default all of these${node ? '' : '; NumPy runs only in Node'})
  --conv-steps N          conv: timed steps of ours${node ? ' and NumPy' : ''} (default ${FULL_PLAN.conv.steps})
  --conv-peer-steps N     conv: timed steps of TF.js and jax-js (default ${FULL_PLAN.conv.slowSteps})
${node ? `  --peer-waits spin|gentle
                          conv: the peers wait as they ship (spin: dawn.node polls on a core)
                          or poll gently as ours does (default ${FULL_PLAN.conv.peerWaits})
` : ''}`;
}

function list<C extends string>(value: string | undefined, flag: string, choices: readonly C[], fallback: readonly C[]): C[] {
  if (value === undefined) return [...fallback];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${flag} needs at least one of ${choices.join(', ')}`);
  return items.map((item) => choiceFlag(item, flag, choices, choices[0]!));
}

/**
 * The command line of either bench. `where` says which: a flag that only the other bench
 * understands is a usage error that says why, rather than silently doing nothing.
 */
export function parseOptions(argv: string[], engines: readonly EngineName[], sections: readonly Section[] = SECTIONS, where: Where = 'node'): BenchOptions | 'help' {
  const f = parseFlags(argv, {
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    'no-mnist': { type: 'boolean' },
    adapter: { type: 'string' },
    only: { type: 'string' },
    engines: { type: 'string' },
    seed: { type: 'string' },
    steps: { type: 'string' },
    windows: { type: 'string' },
    'conv-engines': { type: 'string' },
    'conv-steps': { type: 'string' },
    'conv-peer-steps': { type: 'string' },
    'peer-waits': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (f.help) return 'help';
  const base = f.quick ? QUICK_PLAN : FULL_PLAN;
  if (where === 'browser') refuseNodeOnly(f['conv-engines'], f['peer-waits']);
  const convEngines = convEnginesIn(where);
  const plan: Plan = {
    ...base,
    seed: intFlag(f.seed, 'seed', base.seed, 0),
    train: { ...base.train, steps: intFlag(f.steps, 'steps', base.train.steps), windows: intFlag(f.windows, 'windows', base.train.windows) },
    conv: {
      ...base.conv,
      steps: intFlag(f['conv-steps'], 'conv-steps', base.conv.steps),
      slowSteps: intFlag(f['conv-peer-steps'], 'conv-peer-steps', base.conv.slowSteps),
      engines: list(f['conv-engines'], 'conv-engines', convEngines, base.conv.engines.filter((e) => convEngines.includes(e))),
      peerWaits: choiceFlag(f['peer-waits'], 'peer-waits', ['spin', 'gentle'] as const, base.conv.peerWaits),
    },
  };
  return {
    plan,
    json: !!f.json,
    out: f.out,
    mnist: !f['no-mnist'],
    adapter: choiceFlag(f.adapter, 'adapter', ['auto', 'hardware', 'software'] as const, 'auto'),
    sections: list(f.only, 'only', sections, sections.filter((s) => s !== 'conv')),
    engines: list(f.engines, 'engines', ENGINE_NAMES.filter((e) => engines.includes(e)), engines),
  };
}

/** Node's conv flags and engines that mean nothing in a page, refused with the reason. */
function refuseNodeOnly(convEngines: string | undefined, peerWaits: string | undefined): void {
  if (convEngines?.split(',').some((e) => e.trim() === 'numpy')) {
    throw new UsageError('--conv-engines numpy: the book\'s NumPy code runs in python3 beside Node, so only in `npm run bench -- --only conv`, not in a page');
  }
  if (peerWaits !== undefined) {
    throw new UsageError('--peer-waits is for `npm run bench` only: in Node, dawn.node spins a core while a peer waits; a page waits on the browser\'s event loop, which never spins');
  }
}
