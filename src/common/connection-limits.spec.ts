import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfiguration } from '../config/load-configuration';
import { ConfigurationError } from '../config/configuration-error';
import { automaticConnectionCap, descriptorLimit, trustedProxyMatcher } from './connection-limits';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('descriptorLimit', () => {
  let directory: string;
  beforeAll(() => (directory = mkdtempSync(join(tmpdir(), 'limits-'))));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('reads the soft limit of open files', () => {
    const file = join(directory, 'limits');
    writeFileSync(file, LIMITS);
    expect(descriptorLimit(file)).toBe(1024);
  });

  it('is unknown when unlimited or unreadable', () => {
    const file = join(directory, 'unlimited');
    writeFileSync(
      file,
      LIMITS.replace('1024                 524288', 'unlimited            unlimited'),
    );
    expect(descriptorLimit(file)).toBeUndefined();
    expect(descriptorLimit(join(directory, 'missing'))).toBeUndefined();
  });
});

describe('automaticConnectionCap', () => {
  it('leaves a quarter of the descriptors to the process itself', () => {
    expect(automaticConnectionCap(1024)).toBe(768);
    expect(automaticConnectionCap(undefined)).toBeUndefined();
  });
});

describe('trustedProxyMatcher', () => {
  it('exempts no peer without proxies', () => {
    expect(trustedProxyMatcher(false)('10.0.0.1')).toBe(false);
    expect(trustedProxyMatcher(0)('10.0.0.1')).toBe(false);
  });

  it('exempts every peer when every peer is trusted', () => {
    expect(trustedProxyMatcher(true)('203.0.113.9')).toBe(true);
    expect(trustedProxyMatcher(2)('203.0.113.9')).toBe(true);
  });

  it('exempts exactly the listed addresses and subnets, IPv4 seen through IPv6 too', () => {
    const isProxy = trustedProxyMatcher(['10.0.0.0/8', '192.168.1.10', 'fd00::/8']);
    expect(isProxy('10.20.30.40')).toBe(true);
    expect(isProxy('::ffff:10.20.30.40')).toBe(true);
    expect(isProxy('192.168.1.10')).toBe(true);
    expect(isProxy('fd12::1')).toBe(true);
    expect(isProxy('192.168.1.11')).toBe(false);
    expect(isProxy('203.0.113.9')).toBe(false);
    expect(isProxy('2001:db8::1')).toBe(false);
  });
});

describe('HTTP connection settings', () => {
  it('defaults to timeouts no honest client reaches and a cap per client', () => {
    expect(loadConfiguration({}).app.http).toEqual({
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 10_000,
      keepAliveTimeoutMs: 5_000,
      socketTimeoutMs: 60_000,
      maxConnections: 0,
      maxConnectionsPerClient: 128,
    });
  });

  it.each([
    [
      { HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' },
      'HTTP_HEADERS_TIMEOUT_MS',
    ],
    [
      { HTTP_SOCKET_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '10000' },
      'HTTP_SOCKET_TIMEOUT_MS',
    ],
    [{ HTTP_MAX_CONNECTIONS_PER_CLIENT: '0' }, 'HTTP_MAX_CONNECTIONS_PER_CLIENT'],
    [{ HTTP_REQUEST_TIMEOUT_MS: 'forever' }, 'HTTP_REQUEST_TIMEOUT_MS'],
  ])('refuses %j, naming %s', (environment, variable) => {
    let problems: string[] = [];
    try {
      loadConfiguration(environment);
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      problems = error.problems;
    }
    expect(problems).not.toEqual([]);
    expect(problems.filter((problem) => !problem.startsWith(variable))).toEqual([]);
  });
});
