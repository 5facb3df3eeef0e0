/**
 * Group commit for one kind of small write. `add()` queues an item and resolves once a statement
 * holding it has committed (or rejects with that statement's error). The first item is written on
 * the next turn of the event loop, with whatever else arrived in that turn; while a statement
 * runs, new items wait and go together in the next one. Alone, an item costs no extra latency;
 * under load, N concurrent writes cost one round trip instead of N.
 *
 * Items of one batch succeed or fail together, so a batch must not be able to fail because of one
 * item (write with ON CONFLICT / UPDATE … FROM unnest(), not with checks one item can break).
 */
export class WriteBatcher<T> {
  private queue: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private draining?: Promise<void>;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxBatch = 500,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.draining ??= new Promise<void>((started) => setImmediate(started)).then(() =>
        this.drain(),
      );
    });
  }

  /** Resolves when everything added so far has been written or has failed (for shutdown). */
  async drained(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.write(batch.map(({ item }) => item));
          for (const { resolve } of batch) resolve();
        } catch (error) {
          for (const { reject } of batch) reject(error);
        }
      }
    } finally {
      this.draining = undefined;
    }
  }
}
