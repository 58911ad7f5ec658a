import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/args.js';
import { parseSettings } from '../src/cli/train.js';

describe('npm start flags', () => {
  it('defaults to the book: 784-50-10, 1000 steps, batch 100, lr 0.1, on the GPU', () => {
    expect(parseSettings([])).toMatchObject({ device: 'gpu', steps: 1000, batch: 100, lr: 0.1, hidden: [50], activation: 'relu', init: 'std' });
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
