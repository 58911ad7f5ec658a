import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crossoverSvg } from '../lib/crossover-svg.js';
import { report } from '../lib/report.js';
import type { BenchResult } from '../lib/result.js';

/** bench/results beside this file, which is also right for the bundle in bench/.dist. */
export const DEFAULT_OUT = fileURLToPath(new URL('../results/', import.meta.url));

/** A run of the conv section alone is its own file, <date>-<where>-conv.json, beside the full runs. */
export function convOnlyTag(sections: readonly string[]): string | undefined {
  return sections.length === 1 && sections[0] === 'conv' ? 'conv' : undefined;
}

/**
 * Writes <date>-<where>[-<tag>].json (and the crossover SVG); a quick run's files say so in their
 * names.
 */
export async function writeResult(r: BenchResult, out = DEFAULT_OUT, tag?: string): Promise<string[]> {
  await mkdir(out, { recursive: true });
  const stem = join(out, `${r.date.slice(0, 10)}-${r.where}${tag ? `-${tag}` : ''}${r.quick ? '-quick' : ''}`);
  const files = [`${stem}.json`];
  // Whole or not at all: the file is rewritten after every section, and a run may be killed mid-write.
  await writeFile(`${files[0]}.part`, `${JSON.stringify(r, null, 2)}\n`);
  await rename(`${files[0]}.part`, files[0]!);
  if (r.crossover) {
    files.push(`${stem}-crossover.svg`);
    await writeFile(files[1]!, crossoverSvg(r.crossover, `${r.where}, ${r.adapter?.label ?? ''}, ${r.date.slice(0, 10)}`));
  }
  return files;
}

/** Table and file names for people; with --json the whole result as the last line of stdout. */
export function printResult(r: BenchResult, files: string[], json: boolean): void {
  process.stdout.write(`\n${report(r)}\n\nwrote ${files.map((f) => relative(process.cwd(), f) || f).join(', ')}\n`);
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
}

/** Progress goes to stderr, so stdout stays the report (and the JSON line). */
export function progress(line: string): void {
  process.stderr.write(`[bench ${(performance.now() / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}
