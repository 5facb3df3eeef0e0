import { KnownRefusals } from './known-refusals';
import { LimitRule } from '../../rate-limit/store/rate-limit-store';

const phone: LimitRule = {
  type: 'window',
  layer: 'phone',
  key: 'phone:a',
  limit: 5,
  windowMs: 60_000,
};
const ip: LimitRule = { type: 'window', layer: 'ip', key: 'ip:b', limit: 20, windowMs: 60_000 };
const cooldown: LimitRule = {
  type: 'cooldown',
  layer: 'cooldown',
  key: 'cooldown:a',
  stepsMs: [30_000, 60_000],
  resetAfterMs: 3_600_000,
};
const distinct: LimitRule = {
  type: 'distinct',
  layer: 'ip-phones',
  key: 'ip-phones:b',
  member: 'phone-a',
  limit: 5,
  windowMs: 3_600_000,
};

describe('KnownRefusals', () => {
  it('answers a refused rule until its refusal ends, with the time left', () => {
    const known = new KnownRefusals();
    known.remember([ip, phone], { layer: 'phone', limit: 5, retryAfterMs: 10_000 }, 1_000);

    expect(known.find([phone, ip], 1_000)).toEqual({
      layer: 'phone',
      limit: 5,
      retryAfterMs: 10_000,
    });
    expect(known.find([ip, phone], 8_500)).toEqual({
      layer: 'phone',
      limit: 5,
      retryAfterMs: 2_500,
    });
    expect(known.find([phone], 11_000)).toBeUndefined();
  });

  it('knows nothing about the other rules of a refused request', () => {
    const known = new KnownRefusals();
    known.remember([phone, ip], { layer: 'phone', limit: 5, retryAfterMs: 10_000 }, 0);
    expect(known.find([ip], 1)).toBeUndefined();
  });

  it('tells a key used with other parameters apart', () => {
    const known = new KnownRefusals();
    known.remember([phone], { layer: 'phone', limit: 5, retryAfterMs: 10_000 }, 0);
    expect(known.find([{ ...phone, limit: 6 }], 1)).toBeUndefined();
    expect(known.find([{ ...phone, windowMs: 120_000 }], 1)).toBeUndefined();
  });

  it('keeps cooldown refusals, and never distinct-member ones', () => {
    const known = new KnownRefusals();
    known.remember([cooldown], { layer: 'cooldown', limit: 1, retryAfterMs: 30_000 }, 0);
    known.remember([distinct], { layer: 'ip-phones', limit: 5, retryAfterMs: 30_000 }, 0);
    expect(known.find([cooldown], 1)?.layer).toBe('cooldown');
    expect(known.find([distinct], 1)).toBeUndefined();
  });

  it('stays within its size, forgetting ended refusals first', () => {
    const known = new KnownRefusals(2);
    const rule = (index: number): LimitRule => ({ ...phone, key: `phone:${index}` });
    known.remember([rule(1)], { layer: 'phone', limit: 5, retryAfterMs: 1 }, 0);
    known.remember([rule(2)], { layer: 'phone', limit: 5, retryAfterMs: 100 }, 0);
    known.remember([rule(3)], { layer: 'phone', limit: 5, retryAfterMs: 100 }, 10);
    expect(known.find([rule(2)], 20)).toBeDefined();
    expect(known.find([rule(3)], 20)).toBeDefined();
    known.remember([rule(4)], { layer: 'phone', limit: 5, retryAfterMs: 100 }, 20);
    expect(known.find([rule(2)], 21)).toBeUndefined();
    expect(known.find([rule(4)], 21)).toBeDefined();
  });
});
