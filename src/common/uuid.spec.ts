import { uuidV7 } from './uuid';

describe('uuidV7', () => {
  it('is a version 7, variant 10 UUID carrying the time in milliseconds', () => {
    const at = Date.UTC(2026, 10, 25, 21, 5, 0, 123);
    const id = uuidV7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('sorts ids of later milliseconds after earlier ones', () => {
    const ids = [0, 1, 2, 1_000, 86_400_000].map((offset) => uuidV7(1_764_000_000_000 + offset));
    expect([...ids].sort()).toEqual(ids);
  });

  it('never repeats within one millisecond (74 random bits)', () => {
    const at = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => uuidV7(at)));
    expect(ids.size).toBe(10_000);
  });
});
