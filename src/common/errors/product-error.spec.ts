import { RateLimitedError, RateLimitUnavailableError } from '../../rate-limit/rate-limit.errors';
import { ProductError } from './product-error';

describe('ProductError', () => {
  it('captures no stack for a client error: it is answered, never investigated', () => {
    const error = new RateLimitedError('phone', 3, 60);
    expect(error.stack).toBe('RateLimitedError: Rate limit exceeded. Please try again later.');
    expect(error).toBeInstanceOf(ProductError);
    expect(error.name).toBe('RateLimitedError');
  });

  it('keeps the stack of an outage (503), and leaves the global limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const error = new RateLimitUnavailableError(new Error('connection refused'));
    expect(error.stack).toContain('product-error.spec');
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('plain').stack).toContain('product-error.spec');
  });
});
