// How the TF.js peer is bundled for Node, in one place: bench/cli/peers.ts builds it at run
// time in a checkout, bench/bundle.mjs prebuilds it beside the bench bundle for a GPU box.
// TF.js's ES modules (not the packages' CommonJS Node bundles, which leave out the gradients),
// with require, __filename and __dirname defined for the modules that use them.
import { fileURLToPath } from 'node:url';

export const TFJS_ENTRY = fileURLToPath(new URL('./tfjs-node-entry.ts', import.meta.url));

/** esbuild options for the TF.js peer bundle at `outfile`. */
export function tfjsBuildOptions(outfile) {
  return {
    entryPoints: [TFJS_ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    banner: {
      js:
        "import { createRequire as __createRequire } from 'node:module'; import { fileURLToPath as __fileURLToPath } from 'node:url'; import { dirname as __dirnameOf } from 'node:path'; " +
        'const require = __createRequire(import.meta.url); const __filename = __fileURLToPath(import.meta.url); const __dirname = __dirnameOf(__filename);',
    },
    logLevel: 'error',
  };
}
