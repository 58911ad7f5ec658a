/**
 * The bench scripts' command lines: node:util's parseArgs, the checked values the flags take,
 * and a main that answers a bad command line with the usage text. npm start's own helpers
 * (src/cli/args.ts) belong to that program, not to the library the bench measures.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad command line: runCli prints it above the usage text and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Strict parseArgs (no unknown flags, no positionals); its complaints become UsageErrors. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.split('. To specify')[0]!);
  }
}

/** A whole number of at least `min`; `fallback` when the flag is absent. */
export function intFlag(value: string | undefined, flag: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got '${value}'`);
  return n;
}

/** One of `choices`; `fallback` when the flag is absent. */
export function choiceFlag<C extends string>(value: string | undefined, flag: string, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if (choices.includes(value as C)) return value as C;
  throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${value}'`);
}

/** Runs a bench script's main: exit 2 with the usage text on a UsageError, else exit 1 with the error's message. */
export async function runCli(usage: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const err = e as Error;
    const bad = err instanceof UsageError;
    process.stderr.write(bad ? `error: ${err.message}\n\n${usage}` : `error: ${err.name === 'Error' ? '' : `${err.name}: `}${err.message}\n`);
    if (!bad && process.env.DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exitCode = bad ? 2 : 1;
  }
}
