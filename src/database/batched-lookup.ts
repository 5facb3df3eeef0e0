/**
 * Reads by key, a turn of the event loop at a time: every `get()` made in one turn is answered by
 * one query for all their keys (each key once). Concurrent requests that each need one row cost
 * one round trip together instead of one each; a lone request waits one turn, nothing more.
 */
export class BatchedLookup<K, V> {
  private pending = new Map<
    K,
    { resolve: (value: V) => void; reject: (error: unknown) => void }[]
  >();

  /**
   * `load` answers the keys it found; a key it leaves out gets `missing`. It must not fail
   * because of one key: every key of the batch shares its outcome.
   */
  constructor(
    private readonly load: (keys: K[]) => Promise<Map<K, V>>,
    private readonly missing: V,
  ) {}

  get(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      if (this.pending.size === 0) setImmediate(() => void this.run());
      const waiting = this.pending.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
    });
  }

  private async run(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    try {
      const found = await this.load([...batch.keys()]);
      for (const [key, waiting] of batch) {
        const value = found.has(key) ? (found.get(key) as V) : this.missing;
        for (const { resolve } of waiting) resolve(value);
      }
    } catch (error) {
      for (const waiting of batch.values()) for (const { reject } of waiting) reject(error);
    }
  }
}
