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
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { CpuDataset } from '../src/data/cpu-dataset.js';
import { sliceSplit } from '../src/data/mnist.js';
import { loadMnist } from '../src/node/load-mnist.js';
import { compareOptimizers, type OptimizerComparisonResult } from '../src/experiments/optimizer-comparison.js';
import { finalGap, OVERFIT_RUNS, OVERFIT_SETUP, overfitting, type OverfitCurve, type OverfittingResult } from '../src/experiments/overfitting.js';
import { MultiLayerNet, type NetConfig } from '../src/nn/multi-layer-net.js';
import { createOptimizer, type OptimizerName } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';
import { launch, NO_WEBGPU_FLAGS, ready, REPO_ROOT, snapshot, startDemoServer, waitFor, watchErrors, WEBGPU_FLAGS, type DemoServer } from './demo/harness.js';

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
 * backend): the page must draw the same weights and the same minibatches. ch6 adds ch. 6's
 * options (`--optimizer`, `--batch-norm`, `--dropout`, `--weight-decay`).
 */
async function cliLosses(steps: number, ch6: { net?: Partial<NetConfig>; optimizer?: OptimizerName; lr?: number } = {}): Promise<Float32Array> {
  const mnist = await loadMnist();
  const be = new CpuBackend('f32');
  const net = new MultiLayerNet(be, { hiddenSizes: [50], activation: 'relu', weightInit: 'he', seed: 42, ...ch6.net });
  const optimizer = createOptimizer(be, ch6.optimizer ?? 'sgd', ch6.lr ?? 0.1);
  // Accuracy is not compared, so the sets it is measured on are kept tiny.
  const trainer = new Trainer(net, new CpuDataset(be, mnist.train), new CpuDataset(be, sliceSplit(mnist.test, 0, 10)), optimizer);
  trainer.evaluate = async () => 0;
  const result = await trainer.run({ steps, batchSize: 100, seed: 42, readEvery: 50 });
  return result.losses;
}

/** Ch. 6's options in a link, and the same run's flags for `npm start`. */
const CH6_QUERY = 'optimizer=adam&lr=0.001&batchNorm=1&dropout=0.2&weightDecay=0.01';
const CH6_RUN = { optimizer: 'adam', lr: 0.001, net: { batchNorm: true, dropoutRatio: 0.2, weightDecay: 0.01 } } as const;
/** Steps of each ch. 6 run: a few seconds on each device. */
const CH6_STEPS = 20;

/** Steps per optimizer of the page's live comparison under test: a few seconds on the CPU device. */
const LIVE_STEPS = 20;
/** The labels of the comparison's curves, in the book's order. */
const OPTIMIZER_LABELS = ['SGD (lr 0.01)', 'Momentum (lr 0.01)', 'AdaGrad (lr 0.01)', 'Adam (lr 0.001)'];

/** The newest committed `npm run experiment -- <experiment>` result: the one the page must show. */
function newestCommitted<R>(experiment: 'optimizers' | 'overfitting'): { name: string; result: R } {
  const dir = join(REPO_ROOT, 'docs/experiments');
  const name = readdirSync(dir).filter((f) => f.endsWith(`-${experiment}.json`)).sort().at(-1)!.replace(/\.json$/, '');
  return { name, result: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as R };
}

/** Each optimizer's losses from compareOptimizers on the CPU backend: the page's live run must match. */
async function comparisonLosses(steps: number): Promise<Record<string, number[]>> {
  const mnist = await loadMnist();
  const be = new CpuBackend('f32');
  // Only the losses are compared, so test accuracy is measured on a token set.
  const curves = await compareOptimizers(be, new CpuDataset(be, mnist.train), new CpuDataset(be, sliceSplit(mnist.test, 0, 10)), steps);
  return Object.fromEntries(curves.map((c) => [c.optimizer, c.losses]));
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Epochs per run of the page's live overfitting runs under test: about 10 s on each device. */
const LIVE_EPOCHS = 5;
/** The overfitting panel's curves: train, then test, of each of the book's three runs. */
const OVERFIT_LABELS = OVERFIT_RUNS.flatMap((r) => [`${r.name}, train`, `${r.name}, test`]);

/**
 * `overfitting` in Node on the CPU backend, on the sets the page uses: the first 300 training
 * images, the first 1,000 test images per epoch, all 10,000 at the end.
 */
async function overfittingInNode(epochs: number): Promise<OverfitCurve[]> {
  const mnist = await loadMnist();
  const be = new CpuBackend('f32');
  const [train, test, full] = [sliceSplit(mnist.train, 0, OVERFIT_SETUP.trainImages), sliceSplit(mnist.test, 0, OVERFIT_SETUP.testImagesPerEpoch), mnist.test].map(
    (split) => new CpuDataset(be, split),
  );
  return overfitting(be, train!, test!, full!, { epochs });
}


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
      // Below it the same step fused: the row kernel, then the update with the optimizer's rule.
      const fused = await waitFor(page, 'the fused trace', (x) => Array.isArray(x.fusedTrace), 30_000);
      // (SwiftShader runs the software form: mlp_rows_sw and mlp_update_sw.)
      expect(fused.fusedTrace).toHaveLength(2);
      expect(fused.fusedTrace![0]).toMatch(/^fused: rows, forward, softmax, backward:mlp-step\.mlp_rows(_sw)?\b/);
      expect(fused.fusedTrace![1]).toMatch(/^fused: gradients, SGD:mlp-step\.mlp_update(_sw)?\b.*\[RULE=0\]$/);
      expect(await page.textContent('#fused-trace')).toMatch(/^2 dispatches for the same step/);
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
      // With Adam, whose moments and step count must cross to the CPU with the weights: restarted at zero
      // they would move the losses after step 50 off the uninterrupted run's.
      await lossPage.goto(`${server.url}?steps=150&init=he&evalSubset=300&evalEvery=50&optimizer=adam&lr=0.001`);
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
      const expected = await cliLosses(150, { optimizer: 'adam', lr: 0.001 });
      for (let i = 0; i < 150; i++) expect(s.losses[i], `loss of step ${i + 1}`).toBeCloseTo(expected[i]!, 3);
      await lossPage.close();
    });

    it("takes ch. 6's optimizer, BatchNorm, dropout and weight decay from a link, trains with them on both devices, and refuses bad values", async () => {
      const ch6 = await browser.newPage();
      const ch6Errors = watchErrors(ch6);
      const falls = (losses: number[]) => mean(losses.slice(-5)) < mean(losses.slice(0, 5));
      try {
        await ch6.goto(`${server.url}?device=cpu&steps=${CH6_STEPS}&init=he&evalSubset=300&${CH6_QUERY}`);
        await ready(ch6);
        expect(await ch6.inputValue('select[name="optimizer"]')).toBe('adam');
        expect(await ch6.inputValue('input[name="lr"]')).toBe('0.001');
        expect(await ch6.isChecked('input[name="batchNorm"]')).toBe(true);
        expect(await ch6.inputValue('input[name="dropout"]')).toBe('0.2');
        expect(await ch6.inputValue('input[name="weightDecay"]')).toBe('0.01');
        expect(new URL(ch6.url()).search).toBe('?device=cpu&init=he&lr=0.001&optimizer=adam&batchNorm=1&dropout=0.2&weightDecay=0.01&steps=20&evalSubset=300');
        expect(await ch6.textContent('#cli-command')).toBe(
          'npm start -- --device cpu --steps 20 --batch 100 --lr 0.001 --optimizer adam --hidden 50 --activation relu --init he --batch-norm --dropout 0.2 --weight-decay 0.01 --seed 42',
        );
        expect(await ch6.textContent('#step-explainer')).toMatch(/Affine → BatchNorm → Relu → Dropout → Affine → SoftmaxWithLoss.*Adam/);
        // The activations panel looks inside the BatchNorm layer too.
        await expect.poll(() => ch6.textContent('#activity-body'), { timeout: 20_000 }).toMatch(/BatchNorm\(z\)/);
        expect(await ch6.textContent('#gc-plain-net')).toMatch(/plain net, without the training panel's BatchNorm, Dropout, weight decay/);

        // On the CPU device, step for step what `npm start` computes with the same flags: the
        // options reach the net and the optimizer, and the dropout masks follow the step.
        await ch6.click('#start-button');
        const cpu = await waitFor(ch6, 'the ch. 6 run on the CPU', (x) => x.state === 'done', 60_000);
        expect(cpu.device).toBe('cpu');
        expect(cpu.losses).toHaveLength(CH6_STEPS);
        const expected = await cliLosses(CH6_STEPS, CH6_RUN);
        const plain = await cliLosses(CH6_STEPS, { lr: CH6_RUN.lr });
        for (let i = 0; i < CH6_STEPS; i++) expect(cpu.losses[i], `loss of step ${i + 1}`).toBeCloseTo(expected[i]!, 4);
        // Not the same as ignoring the options (plain SGD on the plain net).
        expect(Math.max(...cpu.losses.map((l, i) => Math.abs(l - plain[i]!)))).toBeGreaterThan(0.01);
        expect(falls(cpu.losses), `losses ${cpu.losses.join(', ')}`).toBe(true);

        // The same run on the GPU: the trace shows the ch. 6 kernels, each under its layer.
        await ch6.check('input[name="device"][value="gpu"]');
        await waitFor(ch6, 'the GPU session', (x) => x.device === 'gpu' && x.state === 'ready', 20_000);
        await ch6.evaluate(() => window.__demo!.settled());
        await ch6.click('#start-button');
        const gpu = await waitFor(ch6, 'the ch. 6 run on the GPU', (x) => x.state === 'done', 90_000);
        expect(gpu.losses.every(Number.isFinite)).toBe(true);
        expect(falls(gpu.losses), `losses ${gpu.losses.join(', ')}`).toBe(true);
        // Same weights, batch and dropout mask as the CPU's first step; float32 sums in another order.
        expect(Math.abs(gpu.losses[0]! - cpu.losses[0]!)).toBeLessThan(1e-3 * cpu.losses[0]!);
        const traced = await waitFor(ch6, 'a training-step trace', (x) => x.traceKernels.some((k) => k.startsWith('bookkeeping:')), 10_000);
        const kernels = traced.traceKernels;
        for (const prefix of [
          'forward:BatchNorm gamma1, beta1:batchnorm.',
          'backward:BatchNorm gamma1, beta1:batchnorm.',
          'forward:Dropout 1:dropout.',
          'backward:Dropout 1:dropout.',
          'forward:weight decay ½λ‖W‖²:',
          'backward:weight decay λ·W:',
          'update:Adam:optimizers.adam',
        ]) {
          expect(kernels.some((k) => k.startsWith(prefix)), `${prefix} in ${kernels.join(' | ')}`).toBe(true);
        }
        expect(kernels.filter((k) => k.split(':')[1] === ''), 'dispatches without a layer').toEqual([]);

        // A bad value typed into the form is marked and starts nothing.
        await ch6.fill('input[name="dropout"]', '1');
        await ch6.dispatchEvent('input[name="dropout"]', 'change');
        expect(await ch6.getAttribute('input[name="dropout"]', 'class')).toContain('invalid');
        expect(await ch6.getAttribute('input[name="dropout"]', 'title')).toBe('must be a ratio from 0 up to, not including, 1');
        expect((await snapshot(ch6)).state).toBe('done');

        // Bad values in a link: the page names each one and keeps the book's value.
        await ch6.goto(`${server.url}?dropout=1&weightDecay=-0.1&optimizer=adamw&batchNorm=yes`);
        const notice = await ch6.waitForSelector('[data-notice="bad-settings"]', { timeout: 20_000 });
        const text = (await notice.textContent())!;
        expect(text).toContain('dropout=1 ignored: must be a ratio from 0 up to, not including, 1');
        expect(text).toContain('weightDecay=-0.1 ignored: must be a finite number >= 0');
        expect(text).toContain('optimizer=adamw ignored: must be one of sgd, momentum, nesterov, adagrad, rmsprop, adam');
        expect(text).toContain('batchNorm=yes ignored: must be 1 (on) or 0 (off)');
        expect(ch6Errors).toEqual([]);
      } finally {
        await ch6.close();
      }
    });

    it('a run that does not learn (lr 100) ends saying so, with the learning rate as the likely cause', async () => {
      const page = await browser.newPage();
      const errors = watchErrors(page);
      try {
        await page.goto(`${server.url}?device=cpu&steps=300&lr=100&evalSubset=300`);
        await ready(page);
        await page.click('#start-button');
        await waitFor(page, 'the lr 100 run', (x) => x.state === 'done', 60_000);
        const status = (await page.textContent('#train-status'))!;
        expect(status).toMatch(/^Done, but the net did not learn: the loss rose from 2\.3 to \d+(\.\d+)?: the learning rate 100 is probably too large; try 0\.1 · /);
        expect(await page.getAttribute('#train-status', 'data-learning')).toBe('loss-rose');
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
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
      const { name, result } = newestCommitted<OptimizerComparisonResult>('optimizers');
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

    it("shows the book's overfitting experiment as committed, and runs a short one live on each device", async () => {
      const { name, result } = newestCommitted<OverfittingResult>('overfitting');
      const shown = (await snapshot(page)).overfitting;
      expect(shown.committedName).toBe(name);
      expect(shown.committed.map((c) => c.label)).toEqual(OVERFIT_LABELS);
      expect(result.curves.map((c) => c.name)).toEqual(OVERFIT_RUNS.map((r) => r.name));
      result.curves.forEach((curve, i) => {
        expect(shown.committed[2 * i]!.values, `${curve.name}, train`).toEqual(curve.trainAcc);
        expect(shown.committed[2 * i + 1]!.values, `${curve.name}, test`).toEqual(curve.testAcc);
      });
      for (const c of shown.committed) expect(c.values, c.label).toHaveLength(result.epochs);
      // The book's finding, as drawn: both cures narrow the gap between train and test accuracy.
      const drawnGap = (run: number) => finalGap({ ...result.curves[run]!, trainAcc: shown.committed[2 * run]!.values as number[], testAcc: shown.committed[2 * run + 1]!.values as number[] });
      expect(drawnGap(1)).toBeLessThan(drawnGap(0));
      expect(drawnGap(2)).toBeLessThan(drawnGap(0));
      // One colour per run; test dashed, in the legend as on the chart.
      const markers = await page.$$eval('#overfitting-committed .u-legend .u-series .u-marker', (els) => els.map((m) => ({ color: getComputedStyle(m).borderTopColor, style: getComputedStyle(m).borderTopStyle })));
      expect(markers).toHaveLength(1 + OVERFIT_LABELS.length);
      const curveMarkers = markers.slice(1);
      expect(curveMarkers.map((m) => m.style)).toEqual(OVERFIT_LABELS.map((l) => (l.endsWith(', test') ? 'dashed' : 'solid')));
      for (let i = 0; i < OVERFIT_RUNS.length; i++) expect(curveMarkers[2 * i]!.color).toBe(curveMarkers[2 * i + 1]!.color);
      expect(new Set(curveMarkers.map((m) => m.color)).size).toBe(OVERFIT_RUNS.length);
      const source = await page.textContent('#overfitting-source');
      expect(source).toContain(result.date);
      expect(source).toContain(result.adapter);
      expect(source).toContain(`${result.epochs} epochs of 3 steps per run, on the ${result.device.toUpperCase()} device`);
      expect(source).toContain(`docs/experiments/${name}.json`);
      const committedSummary = (await page.textContent('#overfitting-committed-summary'))!;
      expect(committedSummary).toMatch(/^Last 10 epochs \(test: the first 1,000 test images\) — no regularization: train \d+\.\d%, test \d+\.\d%, gap /);
      for (const c of result.curves) expect(committedSummary).toContain(`${c.name}: train `);
      for (const c of result.curves) expect(committedSummary).toContain(`gap ${(100 * finalGap(c)).toFixed(1)} points`);
      expect(committedSummary).toContain(`Accuracy on all 10,000 test images after the last epoch: ${result.curves.map((c) => `${(100 * c.finalTestAcc).toFixed(1)}%`).join(' / ')}.`);

      const live = async (device: 'cpu' | 'gpu', runsBefore: number) => {
        await page.fill('#overfitting-epochs', String(LIVE_EPOCHS));
        await page.selectOption('#overfitting-device', device);
        // Two clicks in one task: the second must not start a second run.
        await page.evaluate(() => {
          const run = document.getElementById('overfitting-run')!;
          run.click();
          run.click();
        });
        let partial = false;
        const deadline = Date.now() + 90_000;
        for (;;) {
          const s = (await snapshot(page)).overfitting;
          const drawn = s.live.reduce((n, c) => n + c.values.filter((v) => v !== null).length, 0);
          if (s.running && drawn > 0 && drawn < OVERFIT_LABELS.length * LIVE_EPOCHS) partial = true;
          if (!s.running && s.runsStarted > runsBefore) break;
          if (Date.now() > deadline) throw new Error(`timed out waiting for the live overfitting runs on the ${device}: ${JSON.stringify(s.live)}`);
          await page.waitForTimeout(100);
        }
        await page.evaluate(() => window.__demo!.settled());
        const s = (await snapshot(page)).overfitting;
        expect(s.liveError).toBeNull();
        expect(s.runsStarted).toBe(runsBefore + 1);
        expect(partial, 'curves drawn while the runs were going').toBe(true);
        expect(s.live.map((c) => c.label)).toEqual(OVERFIT_LABELS);
        for (const c of s.live) {
          expect(c.values, c.label).toHaveLength(LIVE_EPOCHS);
          for (const v of c.values) expect(v !== null && v >= 0 && v <= 1, `${c.label}: ${v}`).toBe(true);
        }
        expect(s.liveFinalTestAcc).toHaveLength(OVERFIT_RUNS.length);
        expect(await page.textContent('#overfitting-status')).toMatch(new RegExp(`^Done: ${LIVE_EPOCHS} epochs per run on the ${device.toUpperCase()} in `));
        const finalSet = device === 'gpu' ? 'all 10,000 test images' : 'the same first 1,000 test images';
        const summary = (await page.textContent('#overfitting-live-summary'))!;
        expect(summary).toMatch(new RegExp(`^Last ${LIVE_EPOCHS} epochs \\(test: the first 1,000 test images\\) — no regularization: train \\d+\\.\\d%`));
        expect(summary).toContain(`Accuracy on ${finalSet} after the last epoch: `);
        return s;
      };
      // Same weights, minibatches and dropout masks as overfitting() in Node: on the f32 CPU
      // backend the same accuracies, image for image.
      const expected = await overfittingInNode(LIVE_EPOCHS);
      const onCpu = await live('cpu', 0);
      expect(onCpu.liveTestImages).toEqual({ perEpoch: 1000, final: 1000 });
      expected.forEach((curve, i) => {
        expect(onCpu.live[2 * i]!.values, `${curve.name}, train, CPU`).toEqual(curve.trainAcc);
        expect(onCpu.live[2 * i + 1]!.values, `${curve.name}, test, CPU`).toEqual(curve.testAcc);
        // The CPU device scores the per-epoch 1,000 again at the end.
        expect(onCpu.liveFinalTestAcc[i], `${curve.name}, final, CPU`).toBe(curve.testAcc.at(-1));
      });

      // Stop ends the runs at the next step, keeping what they drew.
      await page.fill('#overfitting-epochs', '301');
      await page.selectOption('#overfitting-device', 'cpu');
      await page.click('#overfitting-run');
      await waitFor(page, 'the long run to draw', (x) => x.overfitting.live[0]!.values.some((v) => v !== null), 30_000);
      await page.click('#overfitting-stop');
      const stopped = await waitFor(page, 'the stop', (x) => !x.overfitting.running, 10_000);
      expect(stopped.overfitting.liveError).toBeNull();
      expect(stopped.overfitting.live[0]!.values.filter((v) => v !== null).length).toBeLessThan(301);
      expect(stopped.overfitting.liveFinalTestAcc).toEqual([]);
      expect(await page.textContent('#overfitting-status')).toMatch(/^Stopped after .*; 0 of 3 runs finished/);

      const onGpu = await live('gpu', 2);
      expect(onGpu.liveTestImages).toEqual({ perEpoch: 1000, final: 10_000 });
      // float32 on the GPU sums in another order: a prediction near a tie may flip.
      expected.forEach((curve, i) => {
        for (let e = 0; e < LIVE_EPOCHS; e++) {
          expect(Math.abs(onGpu.live[2 * i]!.values[e]! - curve.trainAcc[e]!), `${curve.name}, train, GPU, epoch ${e + 1}`).toBeLessThanOrEqual(0.01);
          expect(Math.abs(onGpu.live[2 * i + 1]!.values[e]! - curve.testAcc[e]!), `${curve.name}, test, GPU, epoch ${e + 1}`).toBeLessThanOrEqual(0.01);
        }
        expect(Math.abs(onGpu.liveFinalTestAcc[i]! - curve.finalTestAcc), `${curve.name}, final, GPU`).toBeLessThanOrEqual(0.005);
      });
      expect(errors).toEqual([]);
      // Node's run, two live runs and a stopped one, on two shared cores: about a minute.
    }, 240_000);

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
      expect(await page.isDisabled('#overfitting-device option[value="gpu"]')).toBe(true);
      expect(await page.inputValue('#overfitting-device')).toBe('cpu');
      expect((await snapshot(page)).overfitting.committed.map((c) => c.values.length > 0 && c.values.every((v) => v !== null))).toEqual(OVERFIT_LABELS.map(() => true));
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
