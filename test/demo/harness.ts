/**
 * The demo page under test: a Vite dev server on a free port of 127.0.0.1 (WebGPU needs a secure
 * context, which http://127.0.0.1 is and about:blank is not) and Debian's chromium driven by
 * playwright-core, on SwiftShader's software WebGPU adapter.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import type { DemoSnapshot } from '../../demo/app/test-hook.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const QUIET = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', ...QUIET];
export const NO_WEBGPU_FLAGS = ['--disable-features=WebGPU', ...QUIET];

export interface DemoServer {
  url: string;
  close(): Promise<void>;
}

export async function startDemoServer(): Promise<DemoServer> {
  const server: ViteDevServer = await createServer({
    configFile: join(REPO_ROOT, 'vite.config.ts'),
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    logLevel: 'warn',
    clearScreen: false,
  });
  await server.listen();
  const { port } = server.httpServer!.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

export function launch(args: string[]): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: run scripts/setup.sh (it installs Debian's chromium), or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args, headless: true });
}

/** Collects console errors and uncaught page errors: the page must have none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  return errors;
}

/** The page's state as the test hook gives it (demo/app/test-hook.ts). */
export function snapshot(page: Page): Promise<DemoSnapshot> {
  return page.evaluate(() => window.__demo!.snapshot());
}

/** Polls the page's state until `ok`, failing at once if the page reports an error. */
export async function waitFor(page: Page, what: string, ok: (s: DemoSnapshot) => boolean, timeoutMs: number): Promise<DemoSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await page.evaluate(() => window.__demo?.snapshot());
    if (s?.error) throw new Error(`page failed while waiting for ${what}: ${s.error}`);
    if (s && ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(s)?.slice(0, 600)}`);
    await page.waitForTimeout(200);
  }
}

/** Resolves once the page has installed its test hook (MNIST loaded, pipelines compiled). */
export async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => window.__demo !== undefined, null, { timeout: 90_000 });
}
