// Command lines of this repository's programs (npm start, gradcheck, experiment, the benchmarks):
// node:util's parseArgs, the checked values flags take, and a main that answers a bad command
// line with the usage text. Not part of the library.

import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util's parseArgs in strict mode, with its errors turned into UsageErrors that name the flag. */
export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify.*$/s, ''));
  }
}

/** A whole number of at least `min`; `fallback` when the flag is absent. */
export function intFlag(value: string | undefined, flag: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`--${flag} must be an integer, got '${value}'`);
  if (n < min) throw new UsageError(`--${flag} must be >= ${min}, got ${n}`);
  return n;
}

/** A finite number >= 0. */
export function nonNegativeFlag(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${flag} must be a finite number >= 0, got '${value}'`);
  return n;
}

/** One of `choices`; `fallback` when the flag is absent. */
export function choiceFlag<C extends string>(value: string | undefined, flag: string, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as C;
}

/**
 * Runs a CLI main: usage errors exit 2 with the usage text; other errors print their message
 * (not a stack trace) and exit 1.
 */
export async function runCli(usage: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${usage}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`error: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}\n`);
      if (process.env.DEBUG) process.stderr.write(`${err.stack}\n`);
      process.exitCode = 1;
    }
  }
}
