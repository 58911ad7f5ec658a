// Loaded with `node --import ./tools/register.mjs`: TypeScript through tsx, then `?raw` text imports.
// tsx gets this repository's tsconfig.json whatever the working directory: its `paths` send the
// package's own names ('webgpu-backprop', …/node, …/kernels) to src/, where Node alone would
// follow package.json `exports` to the build in dist/.
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
register('./raw-loader.mjs', import.meta.url);
