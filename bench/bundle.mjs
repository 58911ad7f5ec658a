// Builds the Node bench as one file, bench/.dist/bench-node.mjs (or --out DIR), for a machine that has Node but
// no npm or repo checkout, e.g. a GPU box. With --with-dawn [platform-arch] it also copies the
// `webgpu` package (Dawn for Node) for that platform (default: this one) into
// bench/.dist/node_modules, so the folder runs on its own:
//   node bench/bundle.mjs --with-dawn linux-x64
//   scp -r bench/.dist gpu-box:bench && ssh gpu-box node bench/bench-node.mjs --no-mnist --adapter hardware --json --out results
// WGSL `?raw` imports become inlined strings, as Vite and tools/raw-loader.mjs make them.
// The package names ('webgpu-backprop', …/node, …/kernels) resolve to src/ through tsconfig.json's
// `paths`, which esbuild follows as tsx does.
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { tfjsBuildOptions } from './peers/tfjs-build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// --out DIR writes the folder elsewhere (the test that runs it from a folder of its own).
const outFlag = process.argv.indexOf('--out');
const dist = outFlag >= 0 ? resolve(process.argv[outFlag + 1]) : resolve(here, '.dist');

const rawText = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.slice(0, -'?raw'.length)), namespace: 'raw-text' }));
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'text' }));
  },
};

const outfile = join(dist, 'bench-node.mjs');
const skipValidation = join(dist, 'skip-validation.mjs');
// The bench, and Dawn's skip_validation A/B beside it (a script of its own: one device per process).
for (const [entry, out] of [['run-node.ts', outfile], ['skip-validation.ts', skipValidation]]) await build({
  entryPoints: [resolve(here, entry)],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // A native addon: it stays a runtime import, found in a node_modules beside or above the bundle.
  // So does esbuild, which builds the TF.js peer at run time in a checkout; the bundle carries
  // that peer prebuilt (below) and jax-js inside it, so a GPU box without npm runs both, in the
  // steps section and the conv section.
  external: ['webgpu', 'esbuild'],
  plugins: [rawText],
  logLevel: 'warning',
});
console.log(`wrote ${outfile} and ${skipValidation}`);

// The TF.js peer of the steps and conv sections, built as bench/cli/peers.ts builds it at run
// time, where its loadTfjs looks first: peers/ beside the bundle.
const tfjsOut = join(dist, 'peers/tfjs-node.mjs');
await build(tfjsBuildOptions(tfjsOut));
// The wasm backend's binaries, which the prebuilt peer loads from beside itself.
const wasmDist = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of await readdir(wasmDist)) if (f.endsWith('.wasm')) await cp(join(wasmDist, f), join(dist, 'peers', f));
// The book's NumPy step, for a box with python3 and NumPy.
await cp(resolve(here, 'peers/numpy_convnet.py'), join(dist, 'peers/numpy_convnet.py'));
console.log(`wrote ${tfjsOut} and peers/numpy_convnet.py`);

const flag = process.argv.indexOf('--with-dawn');
if (flag >= 0) {
  const target = process.argv[flag + 1] ?? `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;
  const pkg = dirname(createRequire(import.meta.url).resolve('webgpu/package.json'));
  const to = join(dist, 'node_modules/webgpu');
  await rm(to, { recursive: true, force: true });
  await mkdir(join(to, 'dist'), { recursive: true });
  for (const file of ['index.js', 'package.json', 'LICENSE.md']) await cp(join(pkg, file), join(to, file));
  // Only the one platform's dawn.node: the package ships five (130 MB).
  await cp(join(pkg, 'dist', target), join(to, 'dist', target), { recursive: true });
  console.log(`copied webgpu (Dawn) for ${target} to ${to}`);
}
