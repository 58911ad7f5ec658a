/**
 * Runs async jobs one after another. Every panel that touches the training net (predictions,
 * weight reads, kernel timing) queues here, so two of them never interleave their device work:
 * kernel timing in particular re-runs dispatches into buffers that must stay untouched meanwhile.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<R>(job: () => Promise<R>): Promise<R> {
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => {});
    return result;
  }

  /** Resolves once everything queued so far has finished. */
  idle(): Promise<void> {
    return this.tail.then(() => {});
  }
}
