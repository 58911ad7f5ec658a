/**
 * Decides how long a wait for the GPU sleeps before it starts asking Dawn whether the work is
 * done. In Node, a pending map or `onSubmittedWorkDone` makes dawn.node process events from a
 * setImmediate loop: the main thread spins for as long as the wait lasts. On a software adapter
 * (SwiftShader) the "GPU" is a pool of threads on the same CPU cores, so the spinning thread
 * takes a core from the shaders it waits for (bench/matmul-explore/RESULTS.md has the numbers).
 *
 * The expected time comes from the work itself. Each submit carries a signature of what it
 * holds (its pipelines and grid sizes, hashed): a training loop submits the same step over and
 * over, a kernel benchmark the same product, and a signature's duration is learned from the
 * waits. The GPU runs submits in order, so the work up to submit n finishes at
 *   done(n) = max(done(n - 1), submitted(n)) + duration(signature(n)).
 *
 * A wait sleeps for `WAKE_AT` of the predicted remaining time, less a timer's slack, then
 * polls. It sleeps only on confirmed durations: measured twice, the second time not slower than
 * the first by more than `AGREE`. A signature's first run can be far slower than the rest
 * (SwiftShader compiles a pipeline on its first dispatch), and that one sample must not put
 * later waits to sleep for as long. When a wait wakes before the work is done, the completion
 * it sees is exact and the durations follow it; when the work was already done, the true time
 * is shorter than it can see: the durations shrink and lose their confirmation, so the next
 * wait polls and measures again. A wrong estimate therefore costs one wait's oversleep at most.
 */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

interface Estimate {
  ms: number;
  /** Measured again and not found much slower: waits may sleep on it. */
  confirmed: boolean;
}

interface Submit {
  seq: number;
  at: number;
  signature: number;
  dispatches: number;
}

/** Fraction of the predicted remaining time slept before polling. */
export const WAKE_AT = 0.85;
/** Shorter sleeps are not worth a timer (Node's timers are ~1 ms coarse). */
export const MIN_SLEEP_MS = 2;
/** What a timer may fire late by: taken off every sleep, so that a short wait is not overslept. */
export const TIMER_SLACK_MS = 1;
/** A wait that polled less than this found the work already done: it slept too long. */
export const OVERSLEPT_MS = 0.5;
/** How far one oversleep at least shrinks the durations involved. */
const SHRINK = 0.8;
/** Measurements within this fraction of the estimate confirm it. */
export const AGREE = 0.3;
/** Signatures remembered; past this the table starts over (shapes that come and go). */
const SIGNATURES = 1024;
/** Submits tracked between waits; a caller that never waits keeps only the latest ones. */
export const MAX_PENDING = 4096;

/**
 * Sleeps through most of a wait for the GPU before polling it, from learned durations of each kind
 * of submit (see the module comment).
 */
export class WaitPacer {
  /** Total time slept by waits, for reports and tests. */
  sleptMs = 0;
  /** Learned GPU time of a submit, in ms, by signature. */
  private readonly durations = new Map<number, Estimate>();
  private seq = 0;
  private pending: Submit[] = [];
  /** When the last finished wait saw its work done. */
  private doneAt = -Infinity;

  constructor(
    /** Off: waits never sleep (hardware adapters, browsers) and nothing is tracked. */
    readonly enabled: boolean,
    private readonly clock: PacerClock = realClock,
  ) {}

  /**
   * Records a submit holding `dispatches` dispatches with a signature of their pipelines and
   * grids; returns its sequence number. Submits without dispatches (copies) take no time here.
   */
  submitted(signature: number, dispatches: number): number {
    this.seq += 1;
    if (this.enabled && dispatches > 0) {
      // A caller submitting thousands of times between waits: forgetting the oldest submits
      // only shortens the next prediction, which costs some polling, never an oversleep.
      if (this.pending.length >= MAX_PENDING) this.pending.splice(0, MAX_PENDING / 2);
      this.pending.push({ seq: this.seq, at: this.clock.now(), signature, dispatches });
    }
    return this.seq;
  }

  /** The sequence number of the latest submit: what a wait issued now waits for. */
  get latest(): number {
    return this.seq;
  }

  /** The learned duration of a submit with this signature, in ms (undefined: not yet seen). */
  duration(signature: number): number | undefined {
    return this.durations.get(signature)?.ms;
  }

  /** Whether waits may sleep on this signature's duration. */
  confirmed(signature: number): boolean {
    return this.durations.get(signature)?.confirmed ?? false;
  }

  /** When the work up to submit `seq` should be done, or undefined if some of it is not confirmed. */
  predictDone(seq: number): number | undefined {
    let t = this.doneAt;
    for (const s of this.covered(seq)) {
      const d = this.durations.get(s.signature);
      if (!d?.confirmed) return undefined;
      t = Math.max(t, s.at) + d.ms;
    }
    return t;
  }

  /**
   * Runs `wait` (a map or onSubmittedWorkDone covering everything up to submit `seq`), sleeping
   * first when the work is expected to take a while, and learns from when it returns.
   */
  async wait<R>(seq: number, wait: () => Promise<R>): Promise<R> {
    if (!this.enabled) return wait();
    const done = this.predictDone(seq);
    if (done !== undefined) {
      const sleep = WAKE_AT * (done - this.clock.now()) - TIMER_SLACK_MS;
      if (sleep >= MIN_SLEEP_MS) {
        await this.clock.sleep(sleep);
        this.sleptMs += sleep;
      }
    }
    const pollStart = this.clock.now();
    const result = await wait();
    this.completed(seq, this.clock.now() - pollStart >= OVERSLEPT_MS);
    return result;
  }

  private covered(seq: number): Submit[] {
    const out: Submit[] = [];
    for (const s of this.pending) {
      if (s.seq > seq) break;
      out.push(s);
    }
    return out;
  }

  /**
   * Learns from a wait for submits up to `seq` that returned now; `exact` when it was still
   * polling as the work finished, so now is when the GPU finished.
   */
  private completed(seq: number, exact: boolean): void {
    const now = this.clock.now();
    const work = this.covered(seq);
    if (work.length > 0) this.learn(work, now - Math.max(this.doneAt, work[0]!.at), exact);
    this.pending = this.pending.filter((s) => s.seq > seq);
    this.doneAt = now;
  }

  /** Updates the durations of `work` from `busy`, the time the GPU took for it (an upper bound unless `exact`). */
  private learn(work: Submit[], busy: number, exact: boolean): void {
    let known = 0;
    let newDispatches = 0;
    const knownSignatures = new Set<number>();
    for (const s of work) {
      const d = this.durations.get(s.signature);
      if (d === undefined) {
        newDispatches += s.dispatches;
      } else {
        known += d.ms;
        knownSignatures.add(s.signature);
      }
    }
    if (!exact) {
      // Overslept: the work took at most `busy`. Shrink, and measure again on the next wait.
      const factor = known > 0 ? Math.min(SHRINK, busy / known) : SHRINK;
      for (const sig of knownSignatures) this.durations.set(sig, { ms: this.durations.get(sig)!.ms * factor, confirmed: false });
    } else if (newDispatches > 0) {
      // New work: what the known submits do not explain, shared out by dispatch count.
      if (this.durations.size + work.length > SIGNATURES) this.durations.clear();
      const perDispatch = Math.max(busy - known, 0) / newDispatches;
      for (const s of work) if (!this.durations.has(s.signature)) this.durations.set(s.signature, { ms: perDispatch * s.dispatches, confirmed: false });
    } else if (known > 0) {
      // Known work measured again. Agreeing confirms (averaged, against noise). Far faster than
      // thought (the first run compiled the pipeline) also confirms, at the new time: sleeping
      // on an estimate that is too short costs nothing but some polling. Far slower replaces
      // the estimate unconfirmed, until a second measurement agrees.
      const ratio = busy / known;
      const factor = Math.abs(ratio - 1) <= AGREE ? (1 + ratio) / 2 : ratio;
      for (const sig of knownSignatures) this.durations.set(sig, { ms: this.durations.get(sig)!.ms * factor, confirmed: ratio <= 1 + AGREE });
    }
  }
}
