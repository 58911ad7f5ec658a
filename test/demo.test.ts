/**
 * The demo page in headless Chromium on SwiftShader's software WebGPU: it loads without errors,
 * trains on the GPU, shows a gradient check that agrees (and one that does not, when backprop is
 * broken on purpose), classifies a drawn test image, and falls back to the CPU device without
 * WebGPU. A software adapter trains at a few steps per second, so the runs are short and
 * accuracy is measured on the first 1,000 images of each set (the page says so).
 *
 * The screenshot goes to test-results/demo.png; UPDATE_DEMO_SCREENSHOT=1 also writes
 * docs/demo.png, the one the README shows.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoSnapshot } from '../demo/app/test-hook.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { CpuDataset } from '../src/data/cpu-dataset.js';
import { sliceSplit } from '../src/data/mnist.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { compareOptimizers, type OptimizerComparisonResult } from '../src/experiments/optimizer-comparison.js';
import { MultiLayerNet } from '../src/nn/multi-layer-net.js';
import { SGD } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';
import { launch, NO_WEBGPU_FLAGS, REPO_ROOT, startDemoServer, watchErrors, WEBGPU_FLAGS, type DemoServer } from './demo/harness.js';

/** The book's net with He init: 100 steps reach ~86% where the book's N(0, 0.01²) needs ~250. */
const TRAIN_QUERY = '?steps=100&init=he&evalSubset=1000&evalEvery=50&compareSteps=10';
const TRAIN_STEPS = 100;
/** Test accuracy after TRAIN_STEPS steps, on the first 1,000 test images (measured: 0.86). */
const ACCURACY_BOUND = 0.8;
/** An untrained net guesses: about one in ten. */
const UNTRAINED_BOUND = 0.3;
/** Mean |numerical − backprop| below this is agreement (float32 GPU backprop: ~1e-7 on b2). */
const GRADIENTS_AGREE = 1e-6;

/**
 * The losses `npm start -- --device cpu --init he --steps N` would print (Trainer on the CPU
 * backend): the page must draw the same weights and the same minibatches.
 */
async function cliLosses(steps: number): Promise<Float32Array> {
  const mnist = await loadMnist();
  const be = new CpuBackend('f32');
  const net = new MultiLayerNet(be, { hiddenSizes: [50], activation: 'relu', weightInit: 'he', seed: 42 });
  // Accuracy is not compared, so the sets it is measured on are kept tiny.
  const trainer = new Trainer(net, new CpuDataset(be, mnist.train), new CpuDataset(be, sliceSplit(mnist.test, 0, 10)), new SGD(be, 0.1));
  trainer.evaluate = async () => 0;
  const result = await trainer.run({ steps, batchSize: 100, seed: 42, readEvery: 50 });
  return result.losses;
}

/** Steps per optimizer of the page's live comparison under test: a few seconds on the CPU device. */
const LIVE_STEPS = 20;
/** The labels of the comparison's curves, in the book's order. */
const OPTIMIZER_LABELS = ['SGD (lr 0.01)', 'Momentum (lr 0.01)', 'AdaGrad (lr 0.01)', 'Adam (lr 0.001)'];

/** The newest committed `npm run experiment -- optimizers` result: the one the page must show. */
function committedComparison(): { name: string; result: OptimizerComparisonResult } {
  const dir = join(REPO_ROOT, 'docs/experiments');
  const name = readdirSync(dir).filter((f) => f.endsWith('-optimizers.json')).sort().at(-1)!.replace(/\.json$/, '');
  return { name, result: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as OptimizerComparisonResult };
}

/** Each optimizer's losses from compareOptimizers on the CPU backend: the page's live run must match. */
async function comparisonLosses(steps: number): Promise<Record<string, number[]>> {
  const mnist = await loadMnist();
  const be = new CpuBackend('f32');
  // Only the losses are compared, so test accuracy is measured on a token set.
  const curves = await compareOptimizers(be, new CpuDataset(be, mnist.train), new CpuDataset(be, sliceSplit(mnist.test, 0, 10)), steps, undefined, { skipTrainAccuracy: true });
  return Object.fromEntries(curves.map((c) => [c.optimizer, c.losses]));
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const snapshot = (page: Page): Promise<DemoSnapshot> => page.evaluate(() => window.__demo!.snapshot());

async function waitFor(page: Page, what: string, ok: (s: DemoSnapshot) => boolean, timeoutMs: number): Promise<DemoSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await page.evaluate(() => window.__demo?.snapshot());
    if (s?.error) throw new Error(`page failed while waiting for ${what}: ${s.error}`);
    if (s && ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(s)?.slice(0, 600)}`);
    await page.waitForTimeout(250);
  }
}

const ready = (page: Page) => page.waitForFunction(() => window.__demo !== undefined, null, { timeout: 90_000 });

describe('demo page', () => {
  let server: DemoServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startDemoServer();
    browser = await launch(WEBGPU_FLAGS);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  describe('with WebGPU (SwiftShader)', () => {
    let page: Page;
    let errors: string[];

    beforeAll(async () => {
      page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      errors = watchErrors(page);
    });

    it('loads MNIST and compiles the pipelines without console errors', async () => {
      await page.goto(`${server.url}${TRAIN_QUERY}`);
      await ready(page);
      const s = await snapshot(page);
      expect(s.device).toBe('gpu');
      expect(s.hasGpu).toBe(true);
      expect(s.softwareAdapter).toBe(true);
      expect(s.state).toBe('ready');
      await expect.poll(() => page.textContent('#mnist-text')).toMatch(/60,000 \+ 10,000 images/);
      expect(await page.textContent('#compile-text')).toMatch(/^\d+ pipelines in /);
      expect(await page.textContent('#device-name')).toMatch(/swiftshader.*software/i);
      // Settings come from the URL, and the URL keeps only what differs from the book.
      expect(new URL(page.url()).search).toBe('?init=he&steps=100&evalSubset=1000&evalEvery=50&compareSteps=10');
      expect(await page.inputValue('input[name="steps"]')).toBe('100');
      expect(await page.inputValue('select[name="init"]')).toBe('he');
      // Before any training the trace table already shows a (scratch) step: forward, then backward.
      const trace = await waitFor(page, 'the dispatch trace', (x) => x.traceDispatches > 0, 30_000);
      const phases = trace.traceKernels.map((k) => k.split(':')[0]);
      expect(phases.indexOf('forward')).toBeLessThan(phases.indexOf('backward'));
      expect(phases.lastIndexOf('forward')).toBeLessThan(phases.indexOf('backward'));
      expect(trace.traceKernels.some((k) => k.startsWith('backward:Relu 1:'))).toBe(true);
      // The benchmarks' crossover chart, from the committed result files.
      expect(await page.locator('#crossover-select option').count()).toBeGreaterThan(0);
      expect(await page.textContent('#crossover-chart svg')).toMatch(/GPU wins \d+ of \d+ cells/);
      expect(errors).toEqual([]);
    });

    it(`trains ${TRAIN_STEPS} steps on the GPU, with a pause, and test accuracy rises above ${ACCURACY_BOUND}`, async () => {
      await page.click('#start-button');
      // Pause at once: with a fast adapter 100 steps can be over before a slower test reacts.
      // The pause takes effect at the end of the first readback window, a few steps in.
      await page.click('#pause-button');
      const paused = await waitFor(page, 'the pause', (x) => x.state === 'paused', 20_000);
      expect(paused.step).toBeLessThan(TRAIN_STEPS);
      await page.waitForTimeout(500);
      expect((await snapshot(page)).step).toBe(paused.step);
      expect(await page.textContent('#start-button')).toBe('Resume');
      await page.click('#start-button');
      const s = await waitFor(page, 'training to finish', (x) => x.state === 'done', 100_000);
      expect(s.device).toBe('gpu');
      expect(s.stepsRead).toBe(TRAIN_STEPS);
      expect(s.evals.map((e) => e.step)).toEqual([0, 50, 100]);
      expect(s.evals[0]!.testAcc).toBeLessThan(UNTRAINED_BOUND);
      expect(s.evals.at(-1)!.testAcc).toBeGreaterThan(ACCURACY_BOUND);
      expect(s.firstLoss!).toBeGreaterThan(2);
      expect(s.lastLoss!).toBeLessThan(s.firstLoss! / 2);
      expect(await page.textContent('#train-status')).toMatch(/^Done · step 100 \/ 100/);
      // Seeded: the page's run (paused or not) is `npm start` with the same flags, step for step.
      expect(await page.textContent('#cli-command')).toBe('npm start -- --device gpu --steps 100 --batch 100 --lr 0.1 --hidden 50 --activation relu --init he --seed 42');
      const expected = await cliLosses(TRAIN_STEPS);
      for (let i = 0; i < TRAIN_STEPS; i++) expect(s.losses[i], `loss of step ${i + 1}`).toBeCloseTo(expected[i]!, 3);
      // The trace now comes from a real training step, whose loss is filed for readback.
      const traced = await waitFor(page, 'a training-step trace', (x) => x.traceKernels.some((k) => k.startsWith('bookkeeping:')), 10_000);
      expect(traced.traceKernels[0]).toMatch(/^data:minibatch:/);
      expect(errors).toEqual([]);
    });

    it('shows a gradient check whose differences are small, and large once backprop is broken', async () => {
      await page.click('#gradcheck-button');
      const s = await waitFor(page, 'the gradient check', (x) => x.gradcheck.length === 4, 90_000);
      expect(s.gradcheck.map((r) => r.param)).toEqual(['W1', 'b1', 'W2', 'b2']);
      for (const row of s.gradcheck) {
        expect(row.numericalVsCpu).toBeLessThan(GRADIENTS_AGREE);
        expect(row.numericalVsGpu!).toBeLessThan(GRADIENTS_AGREE);
        expect(row.cpuVsGpu!).toBeLessThan(GRADIENTS_AGREE);
      }
      const cells = await page.$$eval('table.gradcheck tbody td.num', (tds) => tds.map((td) => td.textContent!));
      expect(cells).toHaveLength(12);
      for (const text of cells) expect(Number(text)).toBeLessThan(GRADIENTS_AGREE);
      expect(await page.textContent('#gradcheck-table .verdict')).toMatch(/agrees/);

      // A ReLU backward without its mask: the parameters below it get wrong gradients.
      await page.check('#sabotage');
      const broken = await waitFor(page, 'the sabotaged check', (x) => x.gradcheck[0]!.numericalVsCpu > GRADIENTS_AGREE, 30_000);
      const byParam = Object.fromEntries(broken.gradcheck.map((r) => [r.param, r]));
      expect(byParam.W1!.numericalVsGpu!).toBeGreaterThan(GRADIENTS_AGREE);
      expect(byParam.b1!.numericalVsCpu).toBeGreaterThan(GRADIENTS_AGREE);
      expect(byParam.W2!.numericalVsCpu).toBeLessThan(GRADIENTS_AGREE);
      await page.uncheck('#sabotage');
      await waitFor(page, 'the repaired check', (x) => x.gradcheck.every((r) => r.numericalVsCpu < GRADIENTS_AGREE), 30_000);
      expect(errors).toEqual([]);
    });

    it('classifies a test image drawn into the canvas as its label', async () => {
      // A test image the trained net gets right as MNIST gives it; drawn at 10× and put
      // through the page's own preprocessing (crop, 20×20 box, center of mass) it must still.
      const strip = await waitFor(page, 'test-strip predictions', (x) => x.strip.items.some((i) => i.predicted === i.label), 20_000);
      const correct = strip.strip.items.filter((i) => i.predicted === i.label).slice(0, 3);
      for (const { index, label } of correct) {
        const drawing = await page.evaluate((i) => window.__demo!.drawTestImage(i), index);
        const s = await waitFor(page, `the prediction for test image ${index}`, (x) => x.drawPrediction?.drawing === drawing, 20_000);
        expect(s.drawPrediction!.digit, `test image #${index}`).toBe(label);
      }
      expect(await page.textContent('#draw-verdict')).toMatch(/^The net says \d/);

      // And a stroke with the mouse: the pad draws, the net answers.
      await page.click('#clear-button');
      const before = (await snapshot(page)).drawing;
      const pad = (await page.locator('canvas.draw-pad').boundingBox())!;
      await page.mouse.move(pad.x + pad.width * 0.5, pad.y + pad.height * 0.15);
      await page.mouse.down();
      await page.mouse.move(pad.x + pad.width * 0.52, pad.y + pad.height * 0.85, { steps: 12 });
      await page.mouse.up();
      // The prediction of this stroke, not one left from an earlier drawing.
      const stroke = await waitFor(page, 'the prediction for a stroke', (x) => x.drawing > before && x.drawPrediction?.drawing === x.drawing, 20_000);
      expect(stroke.drawPrediction!.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(stroke.drawPrediction!.digit).toBe(1);
      expect(errors).toEqual([]);
    });

    it('after the GPU device is lost, offers to go on and continues the run on the CPU from its last evaluation', async () => {
      const lossPage = await browser.newPage();
      await lossPage.goto(`${server.url}?steps=150&init=he&evalSubset=300&evalEvery=50`);
      await ready(lossPage);
      await lossPage.click('#start-button');
      const before = await waitFor(lossPage, 'the first evaluation after training began', (x) => x.evals.length >= 2 && x.stepsRead >= 60, 60_000);
      await lossPage.evaluate(() => window.__demo!.loseGpuDevice());
      await lossPage.waitForSelector('[data-notice="gpu-lost"]', { timeout: 20_000 });
      expect(await lossPage.textContent('[data-notice="gpu-lost"]')).toMatch(/The GPU device was lost/);
      await lossPage.click('#continue-on-cpu');
      // The failed GPU session stays current until the CPU one replaces it.
      await lossPage.waitForFunction(() => window.__demo!.snapshot().device === 'cpu', null, { timeout: 20_000 });
      const s = await waitFor(lossPage, 'the run to finish on the CPU', (x) => x.state === 'done' && x.device === 'cpu', 60_000);
      expect(s.stepsRead).toBe(150);
      expect(s.evals.map((e) => e.step)).toEqual([0, 50, 100, 150]);
      // Steps up to the last evaluation before the loss are the GPU's; the rest the CPU redid.
      for (let i = 0; i < 50; i++) expect(s.losses[i]).toBe(before.losses[i]);
      const expected = await cliLosses(150);
      for (let i = 0; i < 150; i++) expect(s.losses[i], `loss of step ${i + 1}`).toBeCloseTo(expected[i]!, 3);
      await lossPage.close();
    });

    it("runs the book's initialization experiment as histograms", async () => {
      await page.click('#init-button');
      const s = await waitFor(page, 'the initialization runs', (x) => Object.keys(x.initStds).length === 6, 60_000);
      const he = s.initStds['relu-he']!;
      const small = s.initStds['relu-0.01']!;
      expect(he.at(-1)! / he[0]!).toBeGreaterThan(0.6);
      expect(small.at(-1)! / small[0]!).toBeLessThan(1e-3);
      expect(await page.locator('#init-result svg').count()).toBe(30);
      expect(errors).toEqual([]);
    });

    it("shows the book's optimizer comparison as committed, and runs a short one live on each device", async () => {
      const { name, result } = committedComparison();
      const shown = (await snapshot(page)).optimizers;
      expect(shown.committedName).toBe(name);
      expect(shown.committed.map((c) => c.label)).toEqual(OPTIMIZER_LABELS);
      shown.committed.forEach((c, i) => {
        const losses = result.curves[i]!.losses;
        expect(c.points, c.label).toBe(result.steps);
        expect(c.finite, c.label).toBe(true);
        // Smoothed as the experiment's SVG: a moving average of 20 steps.
        expect(c.first!).toBeCloseTo(losses[0]!, 5);
        expect(c.last!).toBeCloseTo(mean(losses.slice(-20)), 5);
      });
      // The book's finding, as drawn: SGD ends highest.
      for (const c of shown.committed.slice(1)) expect(c.last!).toBeLessThan(shown.committed[0]!.last!);
      expect(await page.locator('#optimizers-committed .u-legend .u-series').count()).toBe(1 + OPTIMIZER_LABELS.length);
      const source = await page.textContent('#optimizers-source');
      expect(source).toContain(result.date);
      expect(source).toContain(result.adapter);
      expect(source).toContain(`${result.steps.toLocaleString('en')} steps each`);
      expect(await page.textContent('#optimizers-committed-summary')).toMatch(/^Mean loss of the last 100 steps: SGD \d\.\d{3}, Momentum/);

      const live = async (device: 'cpu' | 'gpu', runsBefore: number) => {
        await page.fill('#optimizers-steps', String(LIVE_STEPS));
        await page.selectOption('#optimizers-device', device);
        // Two clicks in one task: the second must not start a second run.
        await page.evaluate(() => {
          const run = document.getElementById('optimizers-run')!;
          run.click();
          run.click();
        });
        // Polled often: the curves must grow while the run goes, which also needs a page that answers.
        let partial = false;
        const deadline = Date.now() + 90_000;
        for (;;) {
          const s = (await snapshot(page)).optimizers;
          const drawn = s.live.reduce((n, c) => n + c.points, 0);
          if (s.running && drawn > 0 && drawn < 4 * LIVE_STEPS) partial = true;
          if (!s.running && s.runsStarted > runsBefore) break;
          if (Date.now() > deadline) throw new Error(`timed out waiting for the live comparison on the ${device}: ${JSON.stringify(s.live)}`);
          await page.waitForTimeout(50);
        }
        await page.evaluate(() => window.__demo!.settled());
        const s = (await snapshot(page)).optimizers;
        expect(s.liveError).toBeNull();
        expect(s.runsStarted).toBe(runsBefore + 1);
        expect(partial, 'curves drawn while the run was going').toBe(true);
        expect(s.live.map((c) => c.label)).toEqual(OPTIMIZER_LABELS);
        for (const c of s.live) {
          expect(c.points, c.label).toBe(LIVE_STEPS);
          expect(c.finite, c.label).toBe(true);
        }
        expect(await page.textContent('#optimizers-status')).toMatch(new RegExp(`^Done: ${LIVE_STEPS} steps each on the ${device.toUpperCase()} in `));
        expect(await page.textContent('#optimizers-live-summary')).toMatch(/^Mean loss of the last 5 steps: SGD \d\.\d{3}, Momentum .* first 1,000 test images/);
        return s.liveLosses;
      };
      // Same weights and batches as compareOptimizers in Node: the same losses, step for step (on
      // the GPU to float32 rounding, which AdaGrad's and Adam's divisions amplify over 5 layers).
      const expected = await comparisonLosses(LIVE_STEPS);
      const onCpu = await live('cpu', 0);
      // Stop ends a run at the next step, keeping what it drew.
      await page.fill('#optimizers-steps', '2000');
      await page.click('#optimizers-run');
      await waitFor(page, 'the long run to draw', (x) => x.optimizers.live[0]!.points > 0, 30_000);
      await page.click('#optimizers-stop');
      const stopped = await waitFor(page, 'the stop', (x) => !x.optimizers.running, 10_000);
      expect(stopped.optimizers.live[0]!.points).toBeLessThan(2000);
      expect(await page.textContent('#optimizers-status')).toMatch(/^Stopped after .*; 0 of 4 optimizers finished/);
      const onGpu = await live('gpu', 2);
      for (const [optimizer, losses] of Object.entries(expected)) {
        expect(onCpu[optimizer], optimizer).toHaveLength(LIVE_STEPS);
        expect(onGpu[optimizer], optimizer).toHaveLength(LIVE_STEPS);
        for (let i = 0; i < LIVE_STEPS; i++) {
          expect(onCpu[optimizer]![i], `${optimizer}, CPU, step ${i + 1}`).toBeCloseTo(losses[i]!, 4);
          expect(Math.abs(onGpu[optimizer]![i]! - losses[i]!), `${optimizer}, GPU, step ${i + 1}`).toBeLessThan(0.01 * losses[i]!);
        }
      }
      expect(errors).toEqual([]);
    });

    it('races the CPU and the GPU over the same steps, and saves a screenshot', async () => {
      await page.click('#compare-button');
      const s = await waitFor(page, 'the CPU-vs-GPU race', (x) => x.compareRatio !== null, 60_000);
      expect(s.compareRatio!).toBeGreaterThan(0);
      expect(await page.textContent('#compare-result')).toMatch(/Largest difference between the two loss curves: \d\.\d\de-\d/);

      await page.evaluate(() => window.__demo!.settled());
      const dir = join(REPO_ROOT, 'test-results');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'demo.png');
      await page.screenshot({ path: file, fullPage: true });
      if (process.env.UPDATE_DEMO_SCREENSHOT) {
        mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
        copyFileSync(file, join(REPO_ROOT, 'docs/demo.png'));
      }
      expect(errors).toEqual([]);
    });
  });

  describe('without WebGPU', () => {
    async function expectCpuFallback(page: Page, errors: string[]): Promise<void> {
      await page.goto(`${server.url}?steps=60&evalSubset=500&autostart=1`);
      await ready(page);
      const notice = page.locator('[data-notice="no-webgpu"]');
      await expect.poll(() => notice.isVisible()).toBe(true);
      expect(await notice.textContent()).toMatch(/No WebGPU in this browser/);
      const s = await waitFor(page, 'training on the CPU', (x) => x.state === 'done', 60_000);
      expect(s.device).toBe('cpu');
      expect(s.hasGpu).toBe(false);
      expect(s.backendLabel).toMatch(/^CPU/);
      expect(s.lastLoss!).toBeLessThan(s.firstLoss!);
      expect(s.evals.at(-1)!.testAcc).toBeGreaterThan(s.evals[0]!.testAcc);
      expect(await page.isDisabled('input[name="device"][value="gpu"]')).toBe(true);
      expect(await page.textContent('#device-name')).toMatch(/^CPU/);
      expect(await page.isDisabled('#optimizers-device option[value="gpu"]')).toBe(true);
      expect(await page.inputValue('#optimizers-device')).toBe('cpu');
      expect((await snapshot(page)).optimizers.committed.map((c) => c.finite && c.points > 0)).toEqual([true, true, true, true]);
      expect(errors).toEqual([]);
    }

    it('navigator.gpu missing: shows a notice and trains on the CPU', async () => {
      const context = await browser.newContext();
      // As in a browser that never shipped WebGPU.
      await context.addInitScript(() => {
        Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
      });
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await expectCpuFallback(page, errors);
      } finally {
        await context.close();
      }
    });

    it('WebGPU switched off in the browser: the same fallback', async () => {
      const plain = await launch(NO_WEBGPU_FLAGS);
      try {
        const page = await plain.newPage();
        const errors = watchErrors(page);
        await expectCpuFallback(page, errors);
      } finally {
        await plain.close();
      }
    });
  });
});
