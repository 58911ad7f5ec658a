// Node module hook: `import text from './file.wgsl?raw'` yields the file's text, the way Vite
// does in the browser, so the same kernel sources load unchanged in Node and in the demo.
import { readFile } from 'node:fs/promises';

export async function resolve(specifier, context, next) {
  if (!specifier.endsWith('?raw')) return next(specifier, context);
  const url = new URL(specifier, context.parentURL);
  return { url: url.href, shortCircuit: true };
}

export async function load(url, context, next) {
  if (!url.endsWith('?raw')) return next(url, context);
  const text = await readFile(new URL(url.slice(0, -'?raw'.length)));
  return { format: 'module', source: `export default ${JSON.stringify(text.toString('utf8'))};`, shortCircuit: true };
}
