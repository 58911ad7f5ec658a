/**
 * Waits for a promise that dawn.node settles, without spinning a CPU core.
 *
 * In Node, while a map, `onSubmittedWorkDone` or an asynchronous pipeline compile is pending,
 * dawn.node processes its events from a
 * setImmediate loop: the main thread spins for as long as the wait lasts. On a software adapter
 * (SwiftShader) the "GPU" is a pool of threads on the same CPU cores, so on a 2-core machine the
 * spinning thread takes a third of the CPU from the shaders it waits for.
 *
 * `pollGently` runs a second setImmediate chain beside Dawn's for as long as the promise is
 * pending, and each of its turns blocks the thread for `gapMs` (Atomics.wait: asleep, not
 * spinning). Each turn of the event loop then runs one of Dawn's event checks and one short
 * sleep, so the wait polls every ~`gapMs` and costs a few percent of a core. It needs no
 * estimate of how long the work takes, so a step whose time varies (SimpleConvNet's, 150–300 ms
 * on SwiftShader) is neither overslept nor spun through. An earlier design slept through a
 * learned share of each submit's expected duration and then spun; measured against it, the
 * conv step ran 1.2–1.5x faster and `npm start` 1.1–1.5x (docs/performance.md).
 *
 * Node only: a browser's page does not spin while it waits (the GPU process does), and its main
 * thread may not block.
 */

/** Sleep between two of Dawn's event checks, in ms: a wait returns at most about this late. */
export const POLL_GAP_MS = 0.2;

/** What pollGently needs of the runtime: a blocking sleep and a turn of the event loop. */
export interface PollRuntime {
  /** Blocks the thread for `ms` without using the CPU. */
  block(ms: number): void;
  /** Runs `fn` at a later turn of the event loop, after the events pending now. */
  later(fn: () => void): void;
}

const cell = typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : undefined;

/** Node's: Atomics.wait on a cell nobody notifies, and setImmediate. */
export const nodeRuntime: PollRuntime = {
  block: (ms) => {
    if (cell) Atomics.wait(cell, 0, 0, ms);
  },
  later: (fn) => {
    setImmediate(fn);
  },
};

/**
 * Resolves (or rejects) as `pending` does, sleeping `gapMs` per turn of the event loop until
 * then instead of letting the loop spin.
 */
export function pollGently<T>(pending: Promise<T>, gapMs = POLL_GAP_MS, runtime: PollRuntime = nodeRuntime): Promise<T> {
  let settled = false;
  const turn = () => {
    if (settled) return;
    runtime.block(gapMs);
    runtime.later(turn);
  };
  runtime.later(turn);
  return pending.finally(() => {
    settled = true;
  });
}
