/**
 * The package as a user gets it: `npm pack`, the tarball installed into empty projects, the Node
 * example run and typechecked against the package's .d.ts, the browser example built with plain
 * Vite. Nothing here reaches into src/: if the build, the exports map or the types are wrong,
 * this fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'wgb-package-'));
let tarball = '';

/** Copies an example into `work/name` and points its dependency at the packed tarball. */
function consumer(name: 'node' | 'browser'): string {
  const dir = join(work, name);
  cpSync(join(repo, 'examples', name), dir, { recursive: true, filter: (src) => !/node_modules|public|dist$/.test(src) });
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  manifest.dependencies['webgpu-backprop'] = `file:${tarball}`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  npm(dir, 'install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error');
  return dir;
}

function npm(cwd: string, ...args: string[]): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  // `npm pack` runs the prepack script: the library build.
  npm(repo, 'pack', '--pack-destination', work, '--silent');
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('holds the build and the types, not the sources', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toContain('package/dist/lib/index.js');
    expect(files).toContain('package/dist/lib/node.js');
    expect(files).toContain('package/dist/lib/kernels.js');
    expect(files).toContain('package/dist/types/index.d.ts');
    expect(files).toContain('package/dist/types/node.d.ts');
    expect(files).toContain('package/dist/types/kernels-entry.d.ts');
    expect(files.filter((f) => /^package\/(src|test|bench|demo|shaders)\//.test(f))).toEqual([]);
  });

  it('the Node example trains the TwoLayerNet to at least 0.85 test accuracy, and typechecks against the .d.ts', () => {
    const dir = consumer('node');
    const run = spawnSync('node', ['train.mjs'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stderr).not.toMatch(/^error:/m);
    const last = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { test_accuracy: number; steps: number };
    expect(last.steps).toBe(600);
    expect(last.test_accuracy).toBeGreaterThanOrEqual(0.85);

    const tsc = spawnSync(join(repo, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  }, 600_000);

  it('the browser example builds with plain Vite, the kernels inlined', () => {
    const dir = consumer('browser');
    npm(dir, 'run', 'build');
    expect(existsSync(join(dir, 'dist/index.html'))).toBe(true);
    const assets = readdirSync(join(dir, 'dist/assets')).filter((f) => f.endsWith('.js'));
    const js = assets.map((f) => readFileSync(join(dir, 'dist/assets', f), 'utf8')).join('\n');
    expect(js).toContain('@compute'); // WGSL compute shaders, as strings in the bundle
    expect(js).not.toContain('?raw');
    expect(existsSync(join(dir, 'dist/mnist/train-images-idx3-ubyte'))).toBe(true);
  }, 600_000);
});
