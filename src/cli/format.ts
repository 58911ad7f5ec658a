/** What device discovery passed over, one `skipped:` line each (the CLIs print them with --verbose). */
export function skippedLines(ctx: { adapter: { skipped: readonly string[] } } | undefined): string[] {
  return (ctx?.adapter.skipped ?? []).map((why) => `skipped: ${why}`);
}
