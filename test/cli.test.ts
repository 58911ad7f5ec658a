import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../tools/cli-args.js';
import { parseSettings } from '../src/cli/train.js';

describe('npm start flags', () => {
  it('defaults to the book: 784-50-10, 1000 steps, batch 100, lr 0.1, on the GPU', () => {
    expect(parseSettings([])).toMatchObject({ device: 'gpu', steps: 1000, batch: 100, lr: 0.1, hidden: [50], activation: 'relu', init: 'std' });
  });

  it('reads the weight decay', () => {
    expect(parseSettings(['--weight-decay', '0.01'])).toMatchObject({ weightDecay: 0.01 });
    expect(parseSettings([])).toMatchObject({ weightDecay: 0 });
  });

  it('reads dropout and batch norm', () => {
    expect(parseSettings(['--dropout', '0.5', '--batch-norm'])).toMatchObject({ dropout: 0.5, batchNorm: true });
    expect(parseSettings([])).toMatchObject({ dropout: 0, batchNorm: false });
  });

  it('reads --fused: on demands the fused step, off refuses it, auto (the default) leaves it to the Trainer', () => {
    expect(parseSettings(['--fused', 'on'])).toMatchObject({ fused: true });
    expect(parseSettings(['--fused', 'off'])).toMatchObject({ fused: false });
    expect(parseSettings(['--fused', 'auto'])).toMatchObject({ fused: undefined });
    expect(parseSettings([])).toMatchObject({ fused: undefined });
  });

  it('reads hidden layers, epochs and the rest', () => {
    expect(parseSettings(['--hidden', '100,50', '--epochs', '2', '--batch', '200', '--device', 'cpu', '--init', 'he'])).toMatchObject({
      hidden: [100, 50], steps: 600, batch: 200, device: 'cpu', init: 'he',
    });
  });

  it.each([
    [['--bogus'], /--bogus/],
    [['--lr=-1'], /--lr must be a finite number > 0/],
    [['--lr', '-1'], /'--lr' argument is ambiguous/],
    [['--lr', 'NaN'], /--lr/],
    [['--lr', 'Infinity'], /--lr/],
    [['--batch', '0'], /^--batch must be an integer from 1 to 1000000, got '0'$/],
    [['--batch', '70000'], /--batch must be at most the 60000/],
    [['--hidden', '50,0'], /^--hidden must be 1 to 6 comma-separated layer sizes from 1 to 4096, got '50,0'$/],
    [['--hidden', '50,x'], /^--hidden must be 1 to 6 comma-separated layer sizes/],
    [['--steps', '1.5'], /--steps must be an integer/],
    [['--device', 'tpu'], /--device must be one of gpu, cpu/],
    [['--weight-decay=-0.1'], /--weight-decay must be a finite number >= 0/],
    [['--dropout', '1'], /^--dropout must be a ratio from 0 up to, not including, 1, got '1'$/],
    [['--dropout=-0.5'], /^--dropout must be a ratio from 0 up to, not including, 1, got '-0.5'$/],
    [['--steps', '5', '--epochs', '1'], /exclude each other/],
    [['--fused', 'yes'], /^--fused must be auto, on or off, got 'yes'$/],
  ])('%j is a usage error that names the flag', (argv, message) => {
    expect(() => parseSettings(argv)).toThrow(UsageError);
    expect(() => parseSettings(argv)).toThrow(message);
  });

  it('exits with code 2 and the usage text on a bad flag', () => {
    const r = spawnSync('node', ['--import', './tools/register.mjs', 'src/cli/train.ts', '--lr', '0'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--lr must be a finite number > 0');
    expect(r.stderr).toContain('usage: npm start');
  });

  it('prints help', () => {
    expect(execFileSync('node', ['--import', './tools/register.mjs', 'src/cli/train.ts', '--help'], { encoding: 'utf8' })).toContain('--hidden 50 | 100,50');
  });
});

describe('Ctrl-C during npm start', () => {
  it('writes a checkpoint, says how to resume, exits 130; --resume carries on from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgb-ckpt-'));
    const checkpoint = join(dir, 'run.safetensors');
    const child = spawn('node', ['--import', './tools/register.mjs', 'src/cli/train.ts', '--device', 'cpu', '--steps', '100000', '--optimizer', 'adam', '--lr', '0.001', '--checkpoint', checkpoint]);
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Interrupt once training has begun.
    while (!stdout.includes('data: MNIST')) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const step = Number(/interrupted before step (\d+)/.exec(stdout)?.[1]);
    expect(step).toBeGreaterThan(0);
    expect(stdout).toContain(`resume with: npm start -- --resume ${checkpoint}`);
    expect(existsSync(checkpoint)).toBe(true);

    const resumed = spawnSync('node', ['--import', './tools/register.mjs', 'src/cli/train.ts', '--resume', checkpoint, '--steps', String(step + 60), '--json'], { encoding: 'utf8' });
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toContain(`at step ${step}`);
    const report = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!);
    expect(report.first_step).toBe(step);
    expect(report.losses).toHaveLength(60);
    expect(report.settings.device).toBe('cpu');
    // The checkpoint's settings came back, Adam's state with them (its step count is in the file).
    expect(report.settings.optimizer).toBe('adam');
    const meta = decodeSafetensors(readFileSync(checkpoint), 'checkpoint').metadata;
    expect(Number(meta.optimizer_step)).toBe(step);
  });

  it('refuses to resume from a file that is not a checkpoint', () => {
    const r = spawnSync('node', ['--import', './tools/register.mjs', 'src/cli/train.ts', '--resume', 'package.json'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/package\.json/);
  });
});

describe('npm start --optimizer', () => {
  it('defaults to sgd and reads each of the book\'s optimizers, keeping lr 0.1 unless --lr is given', () => {
    expect(parseSettings([])).toMatchObject({ optimizer: 'sgd', lr: 0.1 });
    for (const name of ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam']) {
      expect(parseSettings(['--optimizer', name])).toMatchObject({ optimizer: name, lr: 0.1 });
    }
    expect(parseSettings(['--optimizer=adam', '--lr', '0.001'])).toMatchObject({ optimizer: 'adam', lr: 0.001 });
  });

  it.each([[['--optimizer', 'lion']], [['--optimizer', 'Adam']], [['--optimizer=']]])('%j is a usage error listing the choices', (argv) => {
    expect(() => parseSettings(argv)).toThrow(UsageError);
    expect(() => parseSettings(argv)).toThrow(/--optimizer must be one of sgd, momentum, nesterov, adagrad, rmsprop, adam, got '/);
  });

  it('documents the flag in --help', () => {
    expect(execFileSync('node', ['--import', './tools/register.mjs', 'src/cli/train.ts', '--help'], { encoding: 'utf8' })).toContain('--optimizer sgd|momentum|nesterov|adagrad|rmsprop|adam');
  });
});

describe('what npm start prints', () => {
  const run = (...args: string[]) => spawnSync('node', ['--import', './tools/register.mjs', 'src/cli/train.ts', ...args], { encoding: 'utf8', timeout: 300_000 });

  it('a healthy GPU run prints no error: lines, no driver warnings and no paths of other machines', () => {
    const r = run('--steps', '100', '--json');
    const all = `${r.stdout}\n${r.stderr}`;
    expect(r.status, all).toBe(0);
    expect(all).not.toMatch(/^error:/m);
    expect(all).not.toMatch(/XDG_RUNTIME_DIR|Warning:|Loader Message|\/home\/runner/);
    expect(all).not.toMatch(/^skipped:/m);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(report.device).toBe('gpu');
    expect(report.learning_problem).toBeNull();
  });

  it('--fused on trains the MLP through the fused kernels and says so; a net it cannot fuse is refused with the reason', () => {
    const r = run('--steps', '40', '--fused', 'on', '--json');
    const all = `${r.stdout}\n${r.stderr}`;
    expect(r.status, all).toBe(0);
    expect(all).not.toMatch(/^error:/m);
    expect(r.stdout).toMatch(/ms\/step .*, fused steps$/m);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).fused).toBe(true);
    const refused = run('--steps', '2', '--fused', 'on', '--batch-norm');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^error: fused step: BatchNorm1 is neither Relu nor Sigmoid/m);
  });

  it('--verbose says which drivers discovery passed over, one plain line each', () => {
    const r = run('--steps', '20', '--verbose');
    expect(r.status, r.stderr).toBe(0);
    const skipped = r.stdout.split('\n').filter((l) => l.startsWith('skipped: '));
    // This machine has no GPU: the system Vulkan loader is left alone and SwiftShader is used.
    if (!existsSync('/dev/dri') && !existsSync('/dev/nvidia0')) {
      expect(skipped).toContain('skipped: system Vulkan: no GPU device on this machine (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg)');
    }
    for (const line of skipped) expect(line).not.toMatch(/\/home\/runner|Warning/);
  });

  it('--lr 1000 ends with one error: line naming the rise and the learning rate, exit code 1, and the problem in --json', () => {
    const r = run('--device', 'cpu', '--lr', '1000', '--steps', '300', '--json');
    expect(r.status).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: the run did not learn: the loss rose from 2\.3 to \d+(\.\d+)?: the learning rate 1000 is probably too large; try 0\.1$/);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(report.learning_problem.kind).toBe('loss-rose');
    expect(report.learning_problem.first_loss).toBeCloseTo(Math.log(10), 1);
    expect(report.learning_problem.last_loss).toBeGreaterThan(5);
  });
});

describe('the convnets from the command line', () => {
  const node = (...args: string[]) => spawnSync('node', ['--import', './tools/register.mjs', ...args], { encoding: 'utf8', timeout: 300_000 });

  it('npm start --net simple-conv trains the book\'s SimpleConvNet with Adam lr 0.001, and saves conv weights as [out, in, kh, kw]', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conv-cli-'));
    const file = join(dir, 'conv.safetensors');
    const r = node('src/cli/train.ts', '--net', 'simple-conv', '--steps', '6', '--batch', '20', '--eval-images', '300', '--json', '--save', file);
    const all = `${r.stdout}\n${r.stderr}`;
    expect(r.status, all).toBe(0);
    expect(all).not.toMatch(/^error:/m);
    expect(r.stdout).toContain('SimpleConvNet (Conv1 → Relu1 → Pool1 → Affine1 → Relu2 → Affine2), 6 steps of batch 20, adam lr 0.001, seed 42');
    expect(r.stdout).toContain('train accuracy on the first 300, test accuracy on the first 300');
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(report.settings).toMatchObject({ net: 'simple-conv', optimizer: 'adam', lr: 0.001 });
    expect(report.losses).toHaveLength(6);
    expect(report.test_acc).toBeGreaterThan(0);
    const saved = decodeSafetensors(readFileSync(file), file);
    expect(saved.tensors.get('W1')!.shape).toEqual([30, 1, 5, 5]);
    expect(saved.metadata.input_shape).toBe('1,28,28');
  });

  it('npm start refuses the MLP\'s flags for a convnet, naming the flag', () => {
    const r = node('src/cli/train.ts', '--net', 'simple-conv', '--hidden', '100');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--hidden shapes the MLP only; --net simple-conv is built as the book builds it');
  });

  it('npm run gradcheck -- --net simple-conv: every parameter agrees, CPU f64 and GPU f32', () => {
    const r = node('src/cli/gradcheck.ts', '--net', 'simple-conv', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('SimpleConvNet (1x10x10 input, 10 filters 3x3, hidden 10), 1 random image');
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(report.gradients.map((g: { param: string }) => g.param)).toEqual(['W1', 'b1', 'W2', 'b2', 'W3', 'b3']);
    for (const g of report.gradients) {
      // The book's h = 1e-4 crosses a ReLU kink in W1 (~4e-8); everything else is ~1e-9 or below
      // but b3, which carries the 1e-7 inside the book's log (~2e-7).
      expect(g.numerical_vs_cpu).toBeLessThan(1e-6);
      expect(g.numerical_vs_gpu).toBeLessThan(1e-6);
      expect(g.cpu_vs_gpu).toBeLessThan(1e-8);
    }
  });
});
