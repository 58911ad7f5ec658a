import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/args.js';
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
    [['--batch', '0'], /--batch must be >= 1/],
    [['--batch', '70000'], /--batch must be at most the 60000/],
    [['--hidden', '50,0'], /--hidden must be >= 1/],
    [['--hidden', '50,x'], /--hidden must be an integer/],
    [['--steps', '1.5'], /--steps must be an integer/],
    [['--device', 'tpu'], /--device must be one of gpu, cpu/],
    [['--weight-decay=-0.1'], /--weight-decay must be a finite number >= 0/],
    [['--dropout', '1'], /--dropout is the fraction of units dropped, in \[0, 1\), got 1/],
    [['--dropout=-0.5'], /--dropout must be a finite number >= 0/],
    [['--steps', '5', '--epochs', '1'], /exclude each other/],
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
