/**
 * The demo page with ch. 7's SimpleConvNet, in headless Chromium on SwiftShader's software
 * WebGPU: chosen by a link, it trains a few steps on the GPU; the page shows its 30 first-layer
 * filters before learning and now, the feature maps of a drawn digit after Conv1, Relu1 and
 * Pool1, the convolution and pooling dispatches of a step, what the draw pad's centring switch
 * changes in what the net sees, and the committed test-accuracy-vs-shift chart. A software
 * adapter runs a SimpleConvNet step in a fraction of a second, so the run is a few steps and
 * accuracy is scored on the first 100 images of each set.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShiftResult } from '../demo/panels/shift-chart.js';
import { CpuBackend } from '../src/backend/cpu-backend.js';
import { SimpleConvNet } from '../src/nn/conv-nets.js';
import { launch, ready, REPO_ROOT, snapshot, startDemoServer, waitFor, watchErrors, WEBGPU_FLAGS, type DemoServer } from './demo/harness.js';

const STEPS = 4;
const QUERY = `?net=simple-conv&steps=${STEPS}&evalSubset=100`;

/** SimpleConvNet's filters as created with the page's seed: what "before learning" must show. */
async function initialFilters(): Promise<Float32Array> {
  const be = new CpuBackend('f32');
  const net = new SimpleConvNet(be, { seed: 42 });
  try {
    return Float32Array.from(await be.read(net.filters.W.value));
  } finally {
    net.dispose();
  }
}

/** Center of mass (x, y) of a 28×28 image. */
function centerOfMass(image: readonly number[]): [number, number] {
  let [mass, mx, my] = [0, 0, 0];
  image.forEach((v, i) => {
    mass += v;
    mx += v * ((i % 28) + 0.5);
    my += v * (Math.floor(i / 28) + 0.5);
  });
  return [mx / mass, my / mass];
}

describe('demo page with SimpleConvNet', () => {
  let server: DemoServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    server = await startDemoServer();
    browser = await launch(WEBGPU_FLAGS);
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    errors = watchErrors(page);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('takes SimpleConvNet from a link: the form, the URL, the command line, and the shift chart', async () => {
    await page.goto(`${server.url}${QUERY}`);
    await ready(page);
    const s = await snapshot(page);
    expect(s.device).toBe('gpu');
    expect(s.net).toBe('simple-conv');
    expect(s.netName).toBe('SimpleConvNet');
    expect(await page.inputValue('select[name="net"]')).toBe('simple-conv');
    // The convnet's defaults are the book's train_convnet.py: Adam, lr 0.001.
    expect(await page.inputValue('select[name="optimizer"]')).toBe('adam');
    expect(await page.inputValue('input[name="lr"]')).toBe('0.001');
    // The MLP's fields step aside; the URL keeps only what differs from the convnet's defaults.
    expect(await page.isVisible('input[name="hidden"]')).toBe(false);
    expect(await page.isVisible('input[name="weightDecay"]')).toBe(false);
    expect(await page.isVisible('#conv-about')).toBe(true);
    expect(new URL(page.url()).search).toBe(QUERY);
    expect(await page.textContent('#cli-command')).toBe(`npm start -- --net simple-conv --device gpu --steps ${STEPS} --batch 100 --seed 42`);
    expect(await page.textContent('#step-explainer')).toMatch(/Convolution → Relu → Pooling → Affine → Relu → Affine → SoftmaxWithLoss.*Adam/);
    expect(await page.isVisible('#weights-block')).toBe(false);

    // The shift chart draws the committed numbers, and a null as "not measured yet", not as 0.
    const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/experiments/shift.json'), 'utf8')) as ShiftResult;
    expect(s.shift.rendered).toBe(true);
    expect(s.shift.shifts).toEqual(committed.shifts);
    expect(s.shift.nets.map((n) => n.net)).toEqual(committed.nets.map((n) => n.net));
    committed.nets.forEach((n, i) => expect(s.shift.nets[i]!.pointsDrawn, n.net).toBe(n.accuracy.filter((a) => typeof a === 'number').length));
    expect(await page.locator('#shift-chart svg').count()).toBe(1);
    const measured = committed.nets.flatMap((n) => n.accuracy).filter((a) => typeof a === 'number').length;
    expect(await page.locator('#shift-chart svg circle:not(.missing)').count()).toBe(measured);
    if (measured < committed.nets.length * committed.shifts.length) expect(await page.textContent('#shift-chart')).toMatch(/not measured yet/);
    expect(errors).toEqual([]);
  });

  it("shows a step's convolution and pooling dispatches in the trace", async () => {
    const s = await waitFor(page, 'the dispatch trace', (x) => x.traceDispatches > 0, 60_000);
    const layers = new Set(s.traceKernels.map((k) => k.split(':').slice(0, 2).join(':')));
    // Conv1, Relu1 and Pool1 run as one fused layer: no dispatch of a ReLU or pooling of its own.
    for (const layer of ['forward:Conv+Relu+Pool W1, b1', 'forward:Affine W2, b2', 'backward:Conv+Relu+Pool W1, b1']) {
      expect(layers, layer).toContain(layer);
    }
    expect([...layers].filter((l) => /Relu 1|Pool 1/.test(l))).toEqual([]);
    const phases = s.traceKernels.map((k) => k.split(':')[0]);
    expect(phases.lastIndexOf('forward')).toBeLessThan(phases.indexOf('backward'));
    const kernels = (layer: string) => s.traceKernels.filter((k) => k.startsWith(`${layer}:`)).map((k) => k.split(':')[2]);
    expect(kernels('forward:Conv+Relu+Pool W1, b1').some((k) => /conv_relu_pool_forward/.test(k!))).toBe(true);
    // Conv1 is the first layer: its backward computes the filters' gradient from the pooled one
    // and no input gradient (no pooling backward, no col2im).
    const backward = kernels('backward:Conv+Relu+Pool W1, b1');
    expect(backward.some((k) => /conv_pool_filter/.test(k!))).toBe(true);
    expect(backward.filter((k) => /max_pool|conv_backward_data/.test(k!))).toEqual([]);
    expect(await page.textContent('#trace-table')).toMatch(/Conv\+Relu\+Pool W1, b1/);
    // A convnet has no fused step, and the page says why.
    const fused = await waitFor(page, 'the fused trace', (x) => x.fusedTrace !== null, 60_000);
    expect(fused.fusedTrace).toBe('the net views its input as images');
    expect(await page.textContent('#fused-trace')).toBe('This net has no fused step: the net views its input as images.');
    expect(errors).toEqual([]);
  });

  it(`trains ${STEPS} steps on the GPU, and the filters panel shows 30 filters that moved from where they started`, async () => {
    const before = await waitFor(page, 'the filters before learning', (x) => x.filters.before !== null, 30_000);
    expect(before.filters.shown).toBe(true);
    expect(before.filters.count).toBe(30);
    expect(before.filters.size).toEqual([5, 5]);
    // "Before" is the net as created: the seeded initial weights, as Node draws them.
    const initial = await initialFilters();
    expect(before.filters.before).toHaveLength(30 * 25);
    before.filters.before!.forEach((v, i) => expect(v, `filter weight ${i}`).toBeCloseTo(initial[i]!, 6));
    expect(await page.locator('#filters-before canvas').count()).toBe(30);

    await page.click('#start-button');
    const done = await waitFor(page, 'training to finish', (x) => x.state === 'done', 90_000);
    expect(done.stepsRead).toBe(STEPS);
    expect(done.losses.every(Number.isFinite)).toBe(true);
    expect(done.firstLoss!).toBeGreaterThan(2);
    expect(done.evals[0]!.step).toBe(0);
    expect(done.evals.at(-1)!.step).toBe(STEPS);

    const s = await waitFor(page, 'the filters after training', (x) => x.filters.nowStep === STEPS, 30_000);
    expect(await page.locator('#filters-now canvas').count()).toBe(30);
    expect(await page.textContent('#filters-now-caption')).toBe(`now, after step ${STEPS}`);
    const now = s.filters.now!;
    const was = s.filters.before!;
    expect(now).toHaveLength(30 * 25);
    // Adam moves every weight by about lr = 0.001 a step: most of the 750 move, each filter does.
    const moved = now.filter((v, i) => Math.abs(v - was[i]!) > 1e-5).length;
    expect(moved).toBeGreaterThan(0.9 * now.length);
    for (let f = 0; f < 30; f++) {
      const change = Math.max(...now.slice(f * 25, (f + 1) * 25).map((v, i) => Math.abs(v - was[f * 25 + i]!)));
      expect(change, `filter ${f + 1}`).toBeGreaterThan(1e-4);
    }
    expect(await page.textContent('#filters-change')).toMatch(/^Mean \|change\| of a weight since the start: \d\.\d\de-\d/);
    expect(errors).toEqual([]);
  });

  it('draws the feature maps of a drawn digit after Conv1, Relu1 and Pool1', async () => {
    const drawing = await page.evaluate(() => window.__demo!.drawTestImage(0));
    const s = await waitFor(page, 'the feature maps of the drawing', (x) => x.featureMaps.drawing === drawing && x.drawPrediction?.drawing === drawing, 30_000);
    expect(s.drawPrediction!.net).toBe('simple-conv');
    expect(s.drawPrediction!.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(s.featureMaps.shown).toBe(true);
    expect(s.featureMaps.stages.map(({ layer, maps, height, width }) => ({ layer, maps, height, width }))).toEqual([
      { layer: 'Conv1', maps: 30, height: 24, width: 24 },
      { layer: 'Relu1', maps: 30, height: 24, width: 24 },
      { layer: 'Pool1', maps: 30, height: 12, width: 12 },
    ]);
    for (const stage of s.featureMaps.stages) {
      expect(stage.tilesDrawn, stage.layer).toBe(30);
      expect(stage.nonzero, stage.layer).toBeGreaterThan(0);
    }
    // ReLU zeroes the negative half of Conv1's output.
    const [conv, relu] = s.featureMaps.stages;
    expect(relu!.nonzero).toBeLessThan(conv!.nonzero);
    expect(await page.locator('#maps-body canvas').count()).toBe(90);
    // The activations panel follows the drawing through the same layers.
    await expect.poll(() => page.locator('#activity-body [data-layer="Pool1"] canvas').count(), { timeout: 20_000 }).toBe(30);
    expect(errors).toEqual([]);
  });

  it('switches the MNIST-style centring off: the net sees the digit where it was drawn', async () => {
    await page.click('#clear-button');
    const pad = (await page.locator('canvas.draw-pad').boundingBox())!;
    // A "1" in the left third of the pad.
    await page.mouse.move(pad.x + pad.width * 0.2, pad.y + pad.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(pad.x + pad.width * 0.22, pad.y + pad.height * 0.8, { steps: 10 });
    await page.mouse.up();
    const centred = await waitFor(page, 'the centred stroke', (x) => x.drawSeen !== null && x.drawPrediction?.drawing === x.drawing && x.featureMaps.drawing === x.drawing, 30_000);
    expect(centred.drawCentred).toBe(true);
    const [cx] = centerOfMass(centred.drawSeen!);
    expect(Math.abs(cx - 14)).toBeLessThan(1);

    await page.uncheck('#centre-switch');
    const asDrawn = await waitFor(page, 'the uncentred stroke', (x) => x.drawing > centred.drawing && x.drawPrediction?.drawing === x.drawing && x.featureMaps.drawing === x.drawing, 30_000);
    expect(asDrawn.drawCentred).toBe(false);
    expect(asDrawn.drawSeen).not.toEqual(centred.drawSeen);
    // The same stroke, left where it was drawn: moved left, as far as the 28×28 field allows.
    const [ax] = centerOfMass(asDrawn.drawSeen!);
    expect(ax).toBeLessThan(cx - 3);
    expect(await page.textContent('#seen-caption')).toMatch(/left where you drew it/);
    await page.check('#centre-switch');
    const back = await waitFor(page, 'the centred stroke again', (x) => x.drawing > asDrawn.drawing && x.drawPrediction?.drawing === x.drawing, 30_000);
    expect(back.drawSeen).toEqual(centred.drawSeen);
    expect(errors).toEqual([]);
  });

  it('switching the form back to the TwoLayerNet restores its defaults and its panels', async () => {
    await page.selectOption('select[name="net"]', 'mlp');
    const s = await waitFor(page, 'the TwoLayerNet session', (x) => x.net === 'mlp', 20_000);
    expect(s.netName).toBe('784-50-10');
    expect(await page.inputValue('select[name="optimizer"]')).toBe('sgd');
    expect(await page.inputValue('input[name="lr"]')).toBe('0.1');
    expect(await page.isVisible('input[name="hidden"]')).toBe(true);
    expect(await page.isVisible('#filters-card')).toBe(false);
    expect(await page.isVisible('#maps-card')).toBe(false);
    expect(new URL(page.url()).search).toBe(`?steps=${STEPS}&evalSubset=100`);
    await page.evaluate(() => window.__demo!.settled());
    expect(errors).toEqual([]);
  });
});
