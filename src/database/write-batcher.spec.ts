import { StatementBatcher, WriteBatcher } from './write-batcher';

/** A write the test finishes by hand, recording what each statement held. */
function controlledWrite() {
  const statements: number[][] = [];
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const write = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      statements.push(items);
      pending.push({ resolve, reject });
    });
  return { statements, pending, write };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('WriteBatcher', () => {
  it('writes what arrives in one turn of the event loop as one statement', async () => {
    const { statements, pending, write } = controlledWrite();
    const batcher = new WriteBatcher(write);
    const added = [1, 2, 3].map((item) => batcher.add(item));
    await nextTurn();
    expect(statements).toEqual([[1, 2, 3]]);
    pending[0].resolve();
    await expect(Promise.all(added)).resolves.toEqual([undefined, undefined, undefined]);
  });

  it('holds items that arrive during a write for the next statement', async () => {
    const { statements, pending, write } = controlledWrite();
    const batcher = new WriteBatcher(write);
    const first = batcher.add(1);
    await nextTurn();
    const later = [batcher.add(2), batcher.add(3)];
    await nextTurn();
    expect(statements).toEqual([[1]]);
    pending[0].resolve();
    await first;
    await nextTurn();
    expect(statements).toEqual([[1], [2, 3]]);
    pending[1].resolve();
    await Promise.all(later);
  });

  it('splits a long queue into statements of at most maxBatch items', async () => {
    const statements: number[][] = [];
    const batcher = new WriteBatcher(async (items: number[]) => {
      statements.push(items);
    }, 2);
    await Promise.all([1, 2, 3, 4, 5].map((item) => batcher.add(item)));
    expect(statements).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects every item of a failed statement, and writes later items again', async () => {
    const { statements, pending, write } = controlledWrite();
    const batcher = new WriteBatcher(write);
    const failed = [batcher.add(1), batcher.add(2)];
    await nextTurn();
    pending[0].reject(new Error('connection lost'));
    for (const item of failed) await expect(item).rejects.toThrow('connection lost');

    const next = batcher.add(3);
    await nextTurn();
    expect(statements).toEqual([[1, 2], [3]]);
    pending[1].resolve();
    await expect(next).resolves.toBeUndefined();
  });

  it('drained() waits for every item added before it', async () => {
    const { pending, write } = controlledWrite();
    const batcher = new WriteBatcher(write);
    let written = false;
    void batcher.add(1).then(() => (written = true));
    const drained = batcher.drained();
    await nextTurn();
    expect(written).toBe(false);
    pending[0].resolve();
    await drained;
    expect(written).toBe(true);
    await expect(new WriteBatcher(write).drained()).resolves.toBeUndefined();
  });
});

describe('StatementBatcher', () => {
  it("answers each item with its own result, in the statement's order", async () => {
    const batcher = new StatementBatcher(async (items: number[]) => items.map((item) => item * 10));
    await expect(Promise.all([1, 2, 3].map((item) => batcher.add(item)))).resolves.toEqual([
      10, 20, 30,
    ]);
  });

  it('never puts two items with the same key in one statement; the second goes next, in order', async () => {
    const statements: string[][] = [];
    const batcher = new StatementBatcher(
      async (items: string[]) => {
        statements.push(items);
        return items;
      },
      { keyOf: (item) => item.split(':')[0] },
    );
    await Promise.all(['a:1', 'b:1', 'a:2', 'c:1', 'a:3', 'b:2'].map((item) => batcher.add(item)));
    expect(statements).toEqual([['a:1', 'b:1', 'c:1'], ['a:2', 'b:2'], ['a:3']]);
  });

  it('fails every item of a statement that fails, and goes on with the next', async () => {
    let calls = 0;
    const batcher = new StatementBatcher(
      async (items: string[]) => {
        calls += 1;
        if (calls === 1) throw new Error('connection lost');
        return items;
      },
      { keyOf: (item) => item },
    );
    const results = await Promise.allSettled(['a', 'b', 'a'].map((item) => batcher.add(item)));
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });
});
