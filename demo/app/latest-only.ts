/**
 * Runs an async job for the newest request only: requests that arrive while one runs replace
 * each other, and the last of them runs next. A pen stroke asks for a prediction every frame;
 * a slow adapter answers a few per second, and only the newest drawing matters.
 */
export class LatestOnly<A> {
  private next: { arg: A } | undefined;
  private running = false;

  constructor(
    private readonly job: (arg: A) => Promise<void>,
    private readonly onError: (e: Error) => void,
  ) {}

  request(arg: A): void {
    this.next = { arg };
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.next) {
        const { arg } = this.next;
        this.next = undefined;
        try {
          await this.job(arg);
        } catch (e) {
          this.onError(e instanceof Error ? e : new Error(String(e)));
        }
      }
    } finally {
      this.running = false;
    }
  }
}
