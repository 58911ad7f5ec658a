/**
 * npm run experiment -- init: the book's weight-initialization experiment (ch. 6.2) on the GPU
 * (or --device cpu): activation statistics of five 100-unit layers for each activation and
 * initialization.
 */
import { CpuBackend } from '../backend/cpu-backend.js';
import type { Backend } from '../backend/backend.js';
import { GpuBackend } from '../backend/gpu-backend.js';
import { openNodeGpu } from '../device/discover-node.js';
import type { GpuContext } from '../gpu/gpu-context.js';
import { initActivations, INIT_SETUP, type InitRun } from '../experiments/init-activations.js';
import type { Tensor } from '../tensor/tensor.js';
import { choiceFlag, parseFlags, runCli, UsageError } from './args.js';
import { table } from './format.js';

const USAGE = `usage: npm run experiment -- init [options]
  init                    activations of 5 layers x 100 units for sigmoid/ReLU x std 0.01 / 1 / Xavier / He
  --device gpu|cpu        where to run (default gpu)
  --json                  print one JSON object as the last line
  --help                  this text
`;

const RUNS = [
  ['sigmoid', 1],
  ['sigmoid', 0.01],
  ['sigmoid', 'xavier'],
  ['relu', 0.01],
  ['relu', 'xavier'],
  ['relu', 'he'],
] as const;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const [name, ...rest] = argv;
  if (name === '--help' || name === undefined) return void process.stdout.write(USAGE);
  if (name !== 'init') throw new UsageError(`unknown experiment '${name}' (available: init)`);
  const f = parseFlags(rest, { device: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } });
  if (f.help) return void process.stdout.write(USAGE);
  const device = choiceFlag(f.device, 'device', ['gpu', 'cpu'] as const, 'gpu');
  let ctx: GpuContext | undefined;
  try {
    let backend: Backend<Tensor>;
    if (device === 'gpu') {
      ctx = await openNodeGpu();
      backend = new GpuBackend(ctx);
    } else {
      backend = new CpuBackend('f32');
    }
    process.stdout.write(`device: ${backend.device} — ${backend.label}\n`);
    process.stdout.write(`${INIT_SETUP.inputs} inputs ~ N(0, 1) through ${INIT_SETUP.layers} layers of ${INIT_SETUP.units} units\n\n`);
    const runs: InitRun[] = [];
    for (const [activation, init] of RUNS) runs.push(await initActivations(backend, activation, init));
    const label = (r: InitRun) => `${r.activation}, ${typeof r.init === 'number' ? `std ${r.init}` : r.init}`;
    process.stdout.write(`${table([
      ['activation, init', ...runs[0]!.layers.map((l) => `layer ${l.layer} std`), 'in [0, 0.033)', 'in [0.967, 1]'],
      ...runs.map((r) => {
        const last = r.layers.at(-1)!;
        const total = last.histogram.reduce((a, b) => a + b, 0);
        return [label(r), ...r.layers.map((l) => l.std.toPrecision(3)), pct(last.histogram[0]! / total), pct(last.histogram.at(-1)! / total)];
      }),
    ])}\n`);
    process.stdout.write('\nlast two columns: share of layer 5 activations at the ends of [0, 1] (saturated or dead)\n');
    if (f.json) process.stdout.write(`${JSON.stringify({ device, setup: INIT_SETUP, runs })}\n`);
  } finally {
    ctx?.destroy();
  }
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

await runCli(USAGE, main);
