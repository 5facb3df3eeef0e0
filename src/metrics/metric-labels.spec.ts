import { OpenLabel, httpMethod, httpRoute, oneOf } from './metric-labels';

describe('metric labels', () => {
  it('keeps listed values, and names missing and unexpected ones', () => {
    const purposes = new Set(['login', 'registration']);
    expect(oneOf(purposes, 'login')).toBe('login');
    expect(oneOf(purposes, undefined)).toBe('none');
    expect(oneOf(purposes, '')).toBe('none');
    expect(oneOf(purposes, '+251911234567')).toBe('other');
  });

  it('admits values of the expected shape up to a number of them, then only those', () => {
    const layers = new OpenLabel(/^[a-z][a-z0-9-]{0,31}$/, 2);
    expect(layers.of('phone')).toBe('phone');
    expect(layers.of('Phone Number')).toBe('other');
    expect(layers.of('ip')).toBe('ip');
    expect(layers.of('country')).toBe('other');
    expect(layers.of('phone')).toBe('phone');
    expect(layers.of(undefined)).toBe('none');
  });

  it('takes the route template, never a URL, for HTTP timings', () => {
    expect(httpRoute('/admin/sms/holds/:id')).toBe('/admin/sms/holds/:id');
    expect(httpRoute(undefined)).toBe('unmatched');
    expect(httpMethod('GET')).toBe('GET');
    expect(httpMethod('PROPFIND')).toBe('other');
  });
});
