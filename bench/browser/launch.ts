import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type { AdapterChoice } from 'webgpu-backprop/node';

/**
 * Keep a headless bench quiet and alone: no sandbox (containers), no background traffic. gc() in
 * the page lets the conv section collect one engine's garbage between steps, untimed, as Node
 * does (a forced collection in that page takes 11–21 ms, against ~230 ms for our step on SwiftShader);
 * nothing else calls it, and exposing it changes nothing else.
 */
const COMMON = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--js-flags=--expose-gc'];
/** A GPU's own Vulkan driver, even where Chromium's blocklist would refuse it. */
const HARDWARE = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan', '--ignore-gpu-blocklist'];
/** SwiftShader, the software Vulkan Chromium ships: WebGPU on a machine with no GPU. */
const SOFTWARE = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

export function chromiumFlags(kind: 'hardware' | 'software'): string[] {
  return [...(kind === 'hardware' ? HARDWARE : SOFTWARE), ...COMMON];
}

/** $CHROMIUM, else the distribution's chromium or Chrome; Playwright's own download is not needed. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found) throw new Error('no Chromium found: install Debian\'s chromium (`apt-get install -y chromium`) or set CHROMIUM=/path/to/chrome');
  return found;
}

export interface Launched {
  browser: Browser;
  kind: 'hardware' | 'software';
  flags: string[];
}

export async function launch(kind: 'hardware' | 'software'): Promise<Launched> {
  const flags = chromiumFlags(kind);
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: flags });
  return { browser, kind, flags };
}

/**
 * The launch order for an --adapter choice: auto tries the hardware flags first and falls back
 * to SwiftShader when they give no adapter (the caller checks, since that needs a page).
 */
export function launchOrder(choice: AdapterChoice): ('hardware' | 'software')[] {
  return choice === 'auto' ? ['hardware', 'software'] : [choice];
}
