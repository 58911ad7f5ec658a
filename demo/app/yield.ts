/**
 * Gives the browser a turn (input, layout, paint) between pieces of long work. An awaited promise
 * that is already resolved continues as a microtask, which never lets the page render, so long
 * loops call this on a time budget instead.
 */
export function yieldToBrowser(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: { yield?: () => Promise<void> } }).scheduler;
  if (scheduler?.yield) return scheduler.yield();
  // A message is a task of its own and, unlike setTimeout, is not clamped to 4 ms when nested.
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/** Calls `yieldToBrowser` once every `budgetMs` of work. */
export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(private readonly budgetMs = 12) {}

  async maybeYield(): Promise<void> {
    if (performance.now() - this.sliceStart < this.budgetMs) return;
    await yieldToBrowser();
    this.sliceStart = performance.now();
  }
}
