/** At most this many workgroups per dimension (WebGPU's default maxComputeWorkgroupsPerDimension). */
const MAX_GROUPS = 65535;

/**
 * Workgroups covering n invocations of a 1-D kernel of `workgroupSize`; past 65535 groups the
 * grid folds into a second dimension, which the WGSL side unfolds with num_workgroups.
 */
export function grid1d(n: number, workgroupSize: number): [number, number] {
  const groups = Math.ceil(n / workgroupSize);
  if (groups <= MAX_GROUPS) return [groups, groups === 0 ? 0 : 1];
  return [MAX_GROUPS, Math.ceil(groups / MAX_GROUPS)];
}

/** A shape as dispatch traces print it: '[100,784]'. */
export function dims(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
