/** Formats rows as an aligned text table; the first row is the header. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function sci(x: number, digits = 2): string {
  return x.toExponential(digits);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** What device discovery passed over, one `skipped:` line each (the CLIs print them with --verbose). */
export function skippedLines(ctx: { adapter: { skipped: readonly string[] } } | undefined): string[] {
  return (ctx?.adapter.skipped ?? []).map((why) => `skipped: ${why}`);
}
