// Loaded with `node --import ./tools/register.mjs`: TypeScript through tsx, then `?raw` text imports.
import { register } from 'node:module';
import 'tsx/esm';
register('./raw-loader.mjs', import.meta.url);
