import { BatchedLookup } from './batched-lookup';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchedLookup', () => {
  it('answers the gets of one turn with one load of their distinct keys', async () => {
    const loads: string[][] = [];
    const lookup = new BatchedLookup(async (keys: string[]) => {
      loads.push(keys);
      return new Map([['a', 1]]);
    }, 0);

    const answers = await Promise.all([lookup.get('a'), lookup.get('b'), lookup.get('a')]);
    expect(answers).toEqual([1, 0, 1]);
    expect(loads).toEqual([['a', 'b']]);
  });

  it('loads again for gets of a later turn', async () => {
    const loads: string[][] = [];
    const lookup = new BatchedLookup(async (keys: string[]) => {
      loads.push(keys);
      return new Map(keys.map((key) => [key, key.toUpperCase()]));
    }, '');

    expect(await lookup.get('a')).toBe('A');
    await nextTurn();
    expect(await lookup.get('b')).toBe('B');
    expect(loads).toEqual([['a'], ['b']]);
  });

  it('rejects every get of a failed load, and recovers on the next', async () => {
    let fail = true;
    const lookup = new BatchedLookup(async (keys: string[]) => {
      if (fail) throw new Error('database down');
      return new Map(keys.map((key) => [key, true]));
    }, false);

    const failed = [lookup.get('a'), lookup.get('b')];
    for (const get of failed) await expect(get).rejects.toThrow('database down');
    fail = false;
    await expect(lookup.get('a')).resolves.toBe(true);
  });
});
