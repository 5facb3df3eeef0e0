interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export interface StatementBatcherOptions<T> {
  /** The most items one statement takes. */
  maxBatch?: number;
  /**
   * Items with the same key never share a statement: an `UPDATE … FROM unnest()` updates a row
   * once however many items name it, so a second item for the same row would be lost. It waits
   * for the next statement instead, in arrival order.
   */
  keyOf?: (item: T) => string;
}

/**
 * Group commit for one kind of small statement that answers each item. `add()` queues an item and
 * resolves with its own result once a statement holding it has committed (or rejects with that
 * statement's error). The first item goes on the next turn of the event loop, with whatever else
 * arrived in that turn; while a statement runs, new items wait and go together in the next one.
 * Alone, an item costs no extra latency; under load, N concurrent statements cost one round trip
 * (one socket write, one commit) instead of N. One statement at a time also means one instance's
 * batches never wait on each other's row locks.
 *
 * Items of one batch succeed or fail together, so a batch must not be able to fail because of one
 * item (write with ON CONFLICT / UPDATE … FROM unnest(), not with checks one item can break).
 */
export class StatementBatcher<T, R> {
  private queue: Waiting<T, R>[] = [];
  private draining?: Promise<void>;
  private readonly maxBatch: number;

  /** `run` answers one result per item, in the items' order. */
  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly options: StatementBatcherOptions<T> = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
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
        const batch = this.next();
        try {
          const results = await this.run(batch.map(({ item }) => item));
          batch.forEach(({ resolve }, index) => resolve(results[index]));
        } catch (error) {
          for (const { reject } of batch) reject(error);
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  private next(): Waiting<T, R>[] {
    const { keyOf } = this.options;
    if (!keyOf) return this.queue.splice(0, this.maxBatch);
    const keys = new Set<string>();
    const batch: Waiting<T, R>[] = [];
    const later: Waiting<T, R>[] = [];
    for (const waiting of this.queue) {
      const key = keyOf(waiting.item);
      if (batch.length < this.maxBatch && !keys.has(key)) {
        keys.add(key);
        batch.push(waiting);
      } else {
        later.push(waiting);
      }
    }
    this.queue = later;
    return batch;
  }
}

/** A StatementBatcher for writes that answer nothing. */
export class WriteBatcher<T> extends StatementBatcher<T, void> {
  constructor(write: (items: T[]) => Promise<void>, maxBatch = 500) {
    super(
      async (items) => {
        await write(items);
        return [];
      },
      { maxBatch },
    );
  }
}
