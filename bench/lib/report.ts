import type { ConvBenchResult } from './conv-bench.js';
import type { HostTimeResult } from './host-time.js';
import { convCells, crossoverBatches, mlpCells } from './crossover-cells.js';
import type { CrossoverCell, CrossoverTiming } from './crossover.js';
import type { MatmulVsTfjs } from './matmul-vs-tfjs.js';
import type { BenchResult } from './result.js';
import { table } from '../../tools/format.js';

const f = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const ratio = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(x < 10 ? 2 : 1)}×`);

/** Each engine at each size, then one line per size: our default variant's GFLOP/s ÷ TF.js's. */
export function matmulVsTfjsReport(m: MatmulVsTfjs): string {
  const tfjs = 'error' in m.tfjs ? `TF.js webgpu could not run (${m.tfjs.error})` : `${m.tfjs.label} on ${m.tfjs.adapter}`;
  const rows: (string | number)[][] = [['n', 'engine', 'check (rel err)', 'ms/product (median)', 'min–max', 'samples × products', 'GFLOP/s', '÷ TF.js']];
  for (const s of m.sizes) {
    for (const e of s.engines) {
      rows.push([
        `${s.n}³`, `${e.engine}${e.isDefault ? ' (default)' : ''}`,
        e.check ? `${e.check.ok ? 'ok' : 'FAIL'} ${e.check.relErr.toExponential(1)}` : '-',
        e.ms ? f(e.ms.median, 2) : e.skipped ? 'skipped (see notes)' : '-', e.ms ? `${f(e.ms.min, 2)}–${f(e.ms.max, 2)}` : '',
        e.ms ? `${e.ms.n} × ${e.iterations}` : '', e.gflops !== undefined ? f(e.gflops, 2) : '', ratio(e.ratioVsTfjs),
      ]);
    }
  }
  const summary = m.sizes.map((s) => {
    const g = (name: string) => s.engines.find((e) => e.engine === name)?.gflops;
    const ours = `ours-${m.defaultVariant}`;
    const best = s.best && s.best.engine !== ours ? ` (fastest of ours: ${s.best.engine}, ${ratio(s.best.ratio)})` : '';
    return `${s.n}³: ${ours} ${f(g(ours))} GFLOP/s, tfjs-webgpu ${f(g('tfjs-webgpu'))} GFLOP/s → ours ÷ TF.js ${ratio(s.ratio ?? undefined)}${best}`;
  });
  return [
    `matmul vs TensorFlow.js webgpu, n×n·n×n, the same f32 inputs: ${tfjs}; ours on ${m.ours.adapter}`,
    table(rows),
    ...summary,
  ].join('\n');
}

/** The conv section: each engine's step, the paired ratios, and the targets as pass/fail lines. */
export function convReport(c: ConvBenchResult): string {
  const ratioOf = (ours: string, other: string) => {
    const r = c.ratios.find((x) => x.ours === ours && x.other === other);
    return r ? `${ratio(r.ratio.median)} (${r.ratio.min}–${r.ratio.max}, ${r.ratio.n})` : '-';
  };
  const rows: (string | number)[][] = [['engine', 'ms/step (median)', 'min–max', 'timed', 'warm-up ms', 'setup s', 'last loss', `|Δ loss| vs ${c.reference ?? '-'}`, 'ours-gpu ÷ it', 'ours-cpu ÷ it']];
  for (const e of c.engines) {
    if (e.status !== 'ok') {
      rows.push([e.name, e.status, '', '', '', '', '', '', '', '']);
      continue;
    }
    const a = e.agreement;
    rows.push([
      e.name, f(e.ms?.median), e.ms ? `${f(e.ms.min, 1)}–${f(e.ms.max, 1)}` : '', e.ms?.n ?? 0,
      (e.warmupMs ?? []).map((ms) => ms.toFixed(0)).join(', '), f((e.setupMs ?? NaN) / 1000, 1),
      e.losses.length ? `${f(e.losses.at(-1), 5)} (step ${e.losses.length})` : '-',
      a ? `${a.maxDiff.toExponential(1)} over ${a.steps}${a.ok ? '' : ' APART'}` : e.name === c.reference ? 'reference' : '-',
      e.name === 'ours-gpu' ? '—' : ratioOf('ours-gpu', e.name),
      e.name.startsWith('ours-') ? '—' : ratioOf('ours-cpu', e.name),
    ]);
  }
  const lines = c.targets.map((t) => {
    const verdict = t.pass === null ? 'NOT JUDGED' : t.pass ? 'PASS' : 'FAIL';
    return `${t.aim ? 'aim' : 'target'} ${verdict}: ${t.what}: ${t.ratio === null ? 'no ratio' : ratio(t.ratio)}${t.note ? ` (${t.note})` : ''}`;
  });
  return [
    `conv: ${c.model}`,
    `${c.rounds} interleaved rounds; ${c.how}`,
    table(rows),
    ...c.engines.filter((e) => e.status !== 'ok').map((e) => `${e.name}: ${e.status}: ${e.reason}`),
    `ratios: the engine's ms ÷ ours per round, median (min–max, rounds); losses held to ${c.reference ?? 'no reference'} within ${c.lossTolerance} at every step`,
    ...lines,
  ].join('\n');
}

/** Host time per step: one row per net and path, µs to record and submit a step, and its dispatches. */
export function hostTimeReport(h: HostTimeResult): string {
  const rows: (string | number)[][] = [['host time (record + submit)', 'batch', 'dispatches/step', 'µs/step (median)', 'p10–p90', 'µs/dispatch', 'steps']];
  for (const e of h.entries) {
    if (e.skipped || !e.us) {
      rows.push([e.name, e.batch, `skipped: ${e.skipped ?? 'no timing'}`, '', '', '', '']);
      continue;
    }
    rows.push([e.name, e.batch, f(e.dispatchesPerStep, 0), f(e.us.median, 0), `${f(e.us.p10, 0)}–${f(e.us.p90, 0)}`, f(e.usPerDispatch, 1), e.us.n]);
  }
  return [table(rows), `host time: ${h.how}; GPU waited for every ${h.plan.syncEvery} steps, outside the timing`].join('\n');
}

/** The tables a person reads: training engines, then kernels, overhead and the crossover. */
export function report(r: BenchResult): string {
  const parts: string[] = [];
  parts.push(`${r.where} — ${r.adapter?.label ?? 'no GPU adapter'}`);
  const n = Object.values(r.engines)[0]?.sync_every_n.n ?? 100;
  const rows: (string | number)[][] = [[
    'engine', 'ms/step (sync each)', 'min–max', 'steps/s', `ms/step (sync /${n})`, 'steps/s', 'test acc', 'ours-gpu ÷', 'ours-gpu-fused ÷', 'ours-cpu ÷',
  ]];
  const ratios = (x: { every_step: number; every_n: number } | undefined) => (x ? `${ratio(x.every_step)} / ${ratio(x.every_n)}` : '-');
  for (const [name, e] of Object.entries(r.engines)) {
    rows.push([
      name, f(e.ms_per_step), `${f(e.min_ms, 1)}–${f(e.max_ms, 1)}`, f(e.steps_per_s, 1),
      f(e.sync_every_n.ms_per_step), f(e.sync_every_n.steps_per_s, 1), f(e.test_accuracy, 4),
      ratios(e.ratio_ours_gpu), ratios(e.ratio_ours_gpu_fused), ratios(e.ratio_ours_cpu),
    ]);
  }
  if (rows.length > 1) parts.push(table(rows), `ratios: our steps/s ÷ the engine's, syncing every step / every ${n} steps (above 1: ours is faster)`);
  for (const [name, why] of Object.entries(r.engine_errors)) parts.push(`${name}: not run: ${why}`);

  for (const [p, which] of [[r.gpu_vs_cpu, 'layer by layer'], [r.gpu_vs_cpu_fused, 'fused step']] as const) {
    if (!p) continue;
    const row = (mode: string, t: typeof p.everyStep) => [
      mode, f(t.gpu.median), `${f(t.gpu.min, 1)}–${f(t.gpu.max, 1)}`, f(t.cpu.median), `${f(t.cpu.min, 1)}–${f(t.cpu.max, 1)}`,
      `${t.ratio.median}×`, `${t.ratio.min}–${t.ratio.max}`, t.ratio.n,
    ];
    parts.push(
      `GPU device (${which}) vs CPU device, interleaved (ms/step; ratio = CPU ms ÷ GPU ms per round, above 1: the GPU device is faster):`,
      table([
        ['sync', 'gpu', 'min–max', 'cpu', 'min–max', 'ratio', 'min–max', 'rounds'],
        row('every step', p.everyStep),
        row(`every ${p.window}`, p.everyWindow),
      ]),
    );
  }

  if (r.host_time) parts.push(hostTimeReport(r.host_time));

  if (r.kernels?.length) {
    const k: (string | number)[][] = [['kernel', 'variant', 'shape', 'check (max err)', 'ms (median)', 'min–max', 'GFLOP/s', 'GB/s']];
    for (const x of r.kernels) {
      k.push([
        `${x.family} ${x.op}`, x.variant ?? '', x.shape,
        x.check.compared === 'none' ? '-' : `${x.check.ok ? 'ok' : 'FAIL'} ${x.check.maxAbsErr.toExponential(1)}`,
        x.ms ? f(x.ms.median, 3) : x.skipped ? 'skipped (see notes)' : '-', x.ms ? `${f(x.ms.min, 3)}–${f(x.ms.max, 3)}` : '',
        x.gflops !== undefined ? f(x.gflops, 2) : '', x.gbps !== undefined ? f(x.gbps, 2) : '',
      ]);
    }
    parts.push(table(k));
  }
  if (r.matmul_vs_tfjs) parts.push(matmulVsTfjsReport(r.matmul_vs_tfjs));

  const o = r.overhead;
  if (o) {
    parts.push(table([
      ['overhead', 'median', 'min–max'],
      ['empty submit + wait (ms)', f(o.emptySyncMs.median, 3), `${f(o.emptySyncMs.min, 3)}–${f(o.emptySyncMs.max, 3)}`],
      ['record one dispatch (µs, CPU)', f(o.recordUsPerDispatch.median, 1), `${f(o.recordUsPerDispatch.min, 1)}–${f(o.recordUsPerDispatch.max, 1)}`],
      [`dispatch, finished (µs, of ${o.dispatchesPerSample})`, f(o.dispatchUs.median, 1), `${f(o.dispatchUs.min, 1)}–${f(o.dispatchUs.max, 1)}`],
      ['read back one f32 (ms)', f(o.readScalarMs.median, 3), `${f(o.readScalarMs.min, 3)}–${f(o.readScalarMs.max, 3)}`],
      ...o.readback.map((b) => [`read back ${b.bytes >> 20} MiB (ms, ${f(b.gbps)} GB/s)`, f(b.ms.median, 2), `${f(b.ms.min, 2)}–${f(b.ms.max, 2)}`]),
      ...o.upload.map((b) => [`upload ${b.bytes >> 20} MiB (ms, ${f(b.gbps)} GB/s)`, f(b.ms.median, 2), `${f(b.ms.min, 2)}–${f(b.ms.max, 2)}`]),
    ]));
  }

  const c = r.crossover;
  if (c) {
    const columns = crossoverBatches(c);
    const head = ['hidden \\ batch', ...columns.map(String)];
    const ms = (t: CrossoverTiming) => (t.skipped ? 'skipped' : `${t.cold ? '≈' : ''}${f(t.ms.median)}`);
    const show = (cell: CrossoverCell | undefined) => {
      if (!cell) return '-';
      const atLeast = cell.cpu.skipped || cell.gpu.skipped ? '≥' : '';
      return `cpu ${ms(cell.cpu)} / gpu ${ms(cell.gpu)} → ${cell.clear ? '' : '~'}${cell.winner} ${atLeast}${cell.factor.toFixed(1)}×`;
    };
    const mlp = mlpCells(c);
    const body = c.hiddens.map((h) => [String(h), ...columns.map((b) => show(mlp.find((x) => x.batch === b && x.hidden === h)))]);
    const conv = convCells(c);
    if (conv.length) body.push(['SimpleConvNet', ...columns.map((b) => show(conv.find((x) => x.batch === b)))]);
    parts.push(`crossover, ms/step (${c.note}; ~: the two devices' min–max ranges overlap):`, table([head, ...body]));
  }
  const long = r.long_run;
  if (long) {
    parts.push(
      'skipped' in long
        ? `long run: skipped (${long.skipped})`
        : long.runs
            .map(
              (run) =>
                `long run (Trainer, as npm start; ${run.fused ? 'fused' : 'layer by layer'}, ${run.stepsPerSubmit} step(s) a submit): ${run.steps} steps of batch ${run.batch} in ${(run.trainWallMs / 1000).toFixed(2)} s, ` +
                `${run.msPerStep.toFixed(3)} ms/step with losses read every ${run.readEvery}; evaluation after it ${(run.evalWallMs / 1000).toFixed(2)} s; ` +
                `test accuracy ${run.testAccuracy.toFixed(4)}`,
            )
            .concat('(target on a real GPU: 10,000 steps in at most 1 s)')
            .join('\n'),
    );
  }
  if (r.conv) parts.push(convReport(r.conv));
  if (r.notes.length) parts.push(r.notes.map((x) => `note: ${x}`).join('\n'));
  parts.push(`total ${r.runtime_s.toFixed(0)} s`);
  return parts.join('\n\n');
}
