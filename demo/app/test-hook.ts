/**
 * `window.__demo`: what the Playwright tests (test/demo.test.ts, test/demo-conv.test.ts) read and do. State is returned
 * as plain data so `page.evaluate` can carry it out of the page.
 */
import type { ActivationsPanel } from '../panels/activations-panel.js';
import type { ComparePanel } from '../panels/compare-panel.js';
import type { DrawPanel } from '../panels/draw-panel.js';
import type { FeatureMapsPanel, FeatureMapsSnapshot } from '../panels/feature-maps-panel.js';
import type { FiltersPanel, FiltersSnapshot } from '../panels/filters-panel.js';
import type { ShiftChart, ShiftSnapshot } from '../panels/shift-chart.js';
import type { GradcheckPanel } from '../panels/gradcheck-panel.js';
import type { TestStrip } from '../panels/test-strip.js';
import type { TracePanel } from '../panels/trace-panel.js';
import type { InitPanel } from '../panels/init-panel.js';
import type { OptimizersPanel, OptimizersSnapshot } from '../panels/optimizers-panel.js';
import type { OverfittingPanel, OverfittingSnapshot } from '../panels/overfitting-panel.js';
import { netName } from '../engine/nets.js';
import type { App } from './app.js';

export interface Panels {
  init: InitPanel;
  optimizers: OptimizersPanel;
  overfitting: OverfittingPanel;
  draw: DrawPanel;
  maps: FeatureMapsPanel;
  filters: FiltersPanel;
  shift: ShiftChart;
  strip: TestStrip;
  gradcheck: GradcheckPanel;
  trace: TracePanel;
  compare: ComparePanel;
  activations: ActivationsPanel;
}

export interface DemoSnapshot {
  device: 'gpu' | 'cpu';
  /** The run setting: 'mlp' or 'simple-conv'. */
  net: string;
  /** The net's name as the page shows it ('784-50-10', 'SimpleConvNet'). */
  netName: string;
  hasGpu: boolean;
  adapter: string | null;
  softwareAdapter: boolean | null;
  backendLabel: string;
  state: string;
  error: string | null;
  step: number;
  stepsRead: number;
  steps: number;
  lastLoss: number | null;
  firstLoss: number | null;
  /** The loss of every step read back so far. */
  losses: number[];
  evals: { step: number; trainAcc: number; testAcc: number }[];
  gradcheck: { param: string; numericalVsCpu: number; numericalVsGpu: number | null; cpuVsGpu: number | null }[];
  drawing: number;
  drawPrediction: { drawing: number; digit: number; probs: number[]; net: string } | null;
  /** The 784 values the net gets for the drawing (null when the pad is blank). */
  drawSeen: number[] | null;
  /** The draw pad's MNIST-style centring switch. */
  drawCentred: boolean;
  featureMaps: FeatureMapsSnapshot;
  filters: FiltersSnapshot;
  shift: ShiftSnapshot;
  strip: { version: number; items: { index: number; label: number; predicted: number }[] };
  traceDispatches: number;
  traceKernels: string[];
  /** The fused step's kernels below the trace ('layer:kernel'), or why the net has none. */
  fusedTrace: string[] | string | null;
  compareRatio: number | null;
  /** Layer-by-layer activation std of each initialization run, keyed 'relu-he' etc. */
  initStds: Record<string, number[]>;
  /** The optimizer comparison: committed and live curves as drawn. */
  optimizers: OptimizersSnapshot;
  /** The overfitting experiment: committed and live accuracy curves as drawn. */
  overfitting: OverfittingSnapshot;
}

export interface DemoHook {
  snapshot(): DemoSnapshot;
  /** Resolves when the panels' queued work is done and the page has painted it. */
  settled(): Promise<void>;
  drawTestImage(index: number): number;
  /** Destroys the GPU device under the page, as a driver reset would. */
  loseGpuDevice(): void;
  testLabel(index: number): number;
}

declare global {
  interface Window {
    __demo?: DemoHook;
  }
}

export function installTestHook(app: App, panels: Panels): void {
  window.__demo = {
    loseGpuDevice(): void {
      app.devices.gpu?.ctx.device.destroy();
    },
    snapshot(): DemoSnapshot {
      const s = app.session;
      const gpu = app.devices.gpu;
      const last = panels.draw.last;
      return {
        device: s.backend.device,
        net: s.settings.net,
        netName: netName(s.net),
        hasGpu: app.devices.hasGpu,
        adapter: gpu ? gpu.label : null,
        softwareAdapter: gpu ? gpu.ctx.adapter.software : null,
        backendLabel: s.backend.label,
        state: s.state,
        error: s.error?.message ?? null,
        step: s.step,
        stepsRead: s.stepsRead,
        steps: s.settings.steps,
        lastLoss: s.stepsRead > 0 ? s.losses[s.stepsRead - 1]! : null,
        firstLoss: s.stepsRead > 0 ? s.losses[0]! : null,
        losses: Array.from(s.losses.subarray(0, s.stepsRead)),
        evals: s.evals.map(({ step, trainAcc, testAcc }) => ({ step, trainAcc, testAcc })),
        gradcheck: panels.gradcheck.rows.map((r) => ({
          param: r.param,
          numericalVsCpu: r.numericalVsCpu.meanAbsDiff,
          numericalVsGpu: r.numericalVsGpu?.meanAbsDiff ?? null,
          cpuVsGpu: r.cpuVsGpu?.meanAbsDiff ?? null,
        })),
        drawing: panels.draw.drawingNumber,
        drawPrediction: last ? { drawing: last.drawing, digit: last.digit, probs: Array.from(last.probs), net: last.net } : null,
        drawSeen: panels.draw.seen ? Array.from(panels.draw.seen) : null,
        drawCentred: panels.draw.centred,
        featureMaps: panels.maps.snapshot(),
        filters: panels.filters.snapshot(),
        shift: panels.shift.snapshot(),
        strip: { version: panels.strip.version, items: panels.strip.items.map(({ index, label, predicted }) => ({ index, label, predicted })) },
        traceDispatches: panels.trace.shown?.dispatches.length ?? 0,
        traceKernels: panels.trace.shown?.dispatches.map((d) => `${d.phase}:${d.layer}:${d.kernel}`) ?? [],
        fusedTrace: typeof panels.trace.fused === 'string' ? panels.trace.fused : (panels.trace.fused?.dispatches.map((d) => `${d.layer}:${d.kernel}`) ?? null),
        compareRatio: panels.compare.last?.ratio ?? null,
        initStds: Object.fromEntries(panels.init.runs.map((r) => [`${r.activation}-${r.init}`, r.layers.map((l) => l.std)])),
        optimizers: panels.optimizers.snapshot(),
        overfitting: panels.overfitting.snapshot(),
      };
    },
    async settled() {
      await app.netWork.idle();
      for (let i = 0; i < 2; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
    },
    drawTestImage: (index) => panels.draw.drawTestImage(index),
    testLabel: (index) => app.devices.mnist.test.labels[index]!,
  };
}
