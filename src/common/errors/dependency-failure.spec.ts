import { QueryFailedError } from 'typeorm';
import { dependencyFailureReason } from './dependency-failure';

/** An error shaped like the pg driver's: a message and a SQLSTATE or errno code. */
function driverError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('dependencyFailureReason', () => {
  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432'],
    ['ECONNRESET', 'read ECONNRESET'],
    ['ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.5:5432'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND db'],
    ['EMFILE', 'connect EMFILE 10.0.0.5:5432 - Local (undefined:undefined)'],
  ])('recognises the socket error %s', (code, message) => {
    expect(dependencyFailureReason(driverError(message, code))).toBe(code);
  });

  it('recognises a unix socket that vanished, and no other missing file', () => {
    const vanished = Object.assign(
      driverError('connect ENOENT /var/run/postgresql/.s.PGSQL.5432', 'ENOENT'),
      { syscall: 'connect' },
    );
    const missingFile = Object.assign(driverError("ENOENT: no such file, open 'x'", 'ENOENT'), {
      syscall: 'open',
    });

    expect(dependencyFailureReason(vanished)).toBe('ENOENT');
    expect(dependencyFailureReason(missingFile)).toBeUndefined();
  });

  it.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['57P02', 'terminating connection because of crash of another server process'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'sorry, too many clients already'],
    ['53300', 'too many connections for database "sms"'],
    ['53300', 'too many connections for role "sms_app"'],
    ['55000', 'database "sms" is not currently accepting connections'],
    ['3D000', 'database "sms" does not exist'],
    ['28P01', 'password authentication failed for user "sms_app"'],
    ['28000', 'role "sms_app" is not permitted to log in'],
    ['28000', 'pg_hba.conf rejects connection for host "10.0.0.7", user "sms_app"'],
    ['57P04', 'terminating connection because database was dropped'],
    ['57014', 'canceling statement due to statement timeout'],
    ['08006', 'connection failure'],
    ['08001', 'could not establish connection'],
    ['08P01', 'protocol violation'],
  ])('recognises PostgreSQL SQLSTATE %s', (code, message) => {
    expect(dependencyFailureReason(driverError(message, code))).toBe(code);
  });

  it.each([
    ['Connection terminated unexpectedly', 'connection terminated'],
    ['Connection terminated due to connection timeout', 'connection terminated'],
    ['timeout exceeded when trying to connect', 'pool connect timeout'],
    ['Client has encountered a connection error and is not queryable', 'connection lost'],
    ["Stream isn't writeable and enableOfflineQueue options is false", 'redis offline'],
    ['Connection is closed.', 'redis connection closed'],
    ["Cluster isn't ready and enableOfflineQueue options is false", 'redis cluster not ready'],
    [
      'Too many Cluster redirections. Last error: Error: Connection is closed.',
      'redis cluster redirections',
    ],
    ['None of startup nodes is available', 'redis cluster unreachable'],
    ['Failed to refresh slots cache.', 'redis cluster unreachable'],
    ['CLUSTERDOWN The cluster is down', 'redis cluster down'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'redis cluster resharding'],
  ])('recognises the driver message "%s", which has no code', (message, reason) => {
    expect(dependencyFailureReason(driverError(message))).toBe(reason);
  });

  it("looks inside TypeORM's QueryFailedError", () => {
    const error = new QueryFailedError(
      'SELECT 1',
      [],
      driverError('the database system is shutting down', '57P03'),
    );
    expect(dependencyFailureReason(error)).toBe('57P03');
  });

  it('looks inside a cause and each error of an AggregateError', () => {
    const connect = new AggregateError([
      driverError('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED'),
      driverError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    ]);
    expect(dependencyFailureReason(connect)).toBe('ECONNREFUSED');
    expect(dependencyFailureReason(new Error('wrapped', { cause: connect }))).toBe('ECONNREFUSED');
  });

  it('recognises errors by shape, whatever their class or realm', () => {
    expect(dependencyFailureReason({ code: 'ECONNREFUSED', message: 'connect' })).toBe(
      'ECONNREFUSED',
    );
  });

  it.each([
    ['a unique violation', driverError('duplicate key value', '23505')],
    ['a syntax error', driverError('syntax error at or near "SELEC"', '42601')],
    [
      'a statement refused for a setting (55000)',
      driverError('prepared transactions are disabled', '55000'),
    ],
    ['a missing table', driverError('relation "x" does not exist', '42P01')],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a string', 'ECONNREFUSED'],
    ['null', null],
  ])('leaves %s alone (a bug, answered 500)', (_case, error) => {
    expect(dependencyFailureReason(error)).toBeUndefined();
  });

  it('stops at a cause that refers back to itself', () => {
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    Object.assign(first, { cause: second });
    expect(dependencyFailureReason(first)).toBeUndefined();
  });
});
