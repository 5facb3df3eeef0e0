/**
 * Recognises failures of an outside dependency (PostgreSQL, Redis) that mean "try again
 * shortly", not "bug": the server is down, restarting, unreachable, refusing connections or this
 * login, or too slow; or this process is out of descriptors to connect with. The answer is a
 * short reason that is safe to log (an error code, never a message that could carry a host, a
 * query or its parameters).
 */

/** Socket errors of Node's `net`, as the pg and ioredis drivers pass them on. */
const SOCKET_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  // Out of file descriptors: nothing can connect until some are closed (a flood of connections)
  'EMFILE',
  'ENFILE',
]);

/**
 * Errors that mean an outage only when a connect failed with them: a PostgreSQL unix socket that
 * vanished (the server stopped and removed it) is ENOENT, like any missing file, which is a bug.
 */
const CONNECT_ERRORS = new Set(['ENOENT']);

/**
 * PostgreSQL SQLSTATEs of a server that cannot serve right now
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html). Class 08 (connection
 * exception) is matched as a whole below.
 */
const POSTGRES_STATES = new Set([
  '57P01', // admin_shutdown: `pg_ctl stop -m fast`, a failover
  '57P02', // crash_shutdown: another backend crashed, the server is resetting
  '57P03', // cannot_connect_now: starting up or shutting down
  '57P05', // idle_session_timeout
  '57P04', // database_dropped
  '53300', // too_many_connections: max_connections, or a database's or role's CONNECTION LIMIT
  '57014', // query_canceled: statement_timeout, an overloaded server
  // Refused at login: the database was renamed or dropped, the role's password changed or its
  // LOGIN was revoked, pg_hba.conf rejects us. Nothing a request did; an operator must act, and
  // until then every request fails the same way, like an outage.
  '3D000', // invalid_catalog_name: database "…" does not exist
  '28P01', // invalid_password
  '28000', // invalid_authorization_specification: role cannot log in, pg_hba.conf rejects
]);

/**
 * SQLSTATEs that stand for many problems, of which only the ones matched by the message are a
 * server that cannot serve: 55000 is also, for one, a statement that needs a setting turned on.
 */
const POSTGRES_STATES_BY_MESSAGE: [string, RegExp][] = [
  // object_not_in_prerequisite_state: ALTER DATABASE … ALLOW_CONNECTIONS false
  ['55000', /is not currently accepting connections/],
];

/** Drivers' own errors that carry no code: the message is the only sign. */
const CODELESS_MESSAGES: [RegExp, string][] = [
  // pg: the server closed the socket (restart, crash, network)
  [/^Connection terminated/, 'connection terminated'],
  // pg-pool: no connection within connectionTimeoutMillis (server unreachable, or pool exhausted)
  [/^timeout exceeded when trying to connect$/, 'pool connect timeout'],
  // pg: a query on a client whose connection already failed
  [/is not queryable$/, 'connection lost'],
  // ioredis with the offline queue disabled, or after quit
  [/^Stream isn't writeable/, 'redis offline'],
  [/^Connection is closed\.?$/, 'redis connection closed'],
  // ioredis Cluster: no slot map yet, redirections or failovers that did not settle, every node
  // unreachable; Redis itself while a slot has no reachable primary
  [/^Cluster isn't ready/, 'redis cluster not ready'],
  [/^Too many Cluster redirections/, 'redis cluster redirections'],
  [/^None of startup nodes is available/, 'redis cluster unreachable'],
  [/^Failed to refresh slots cache/, 'redis cluster unreachable'],
  [/^CLUSTERDOWN\b/, 'redis cluster down'],
  [/^TRYAGAIN\b/, 'redis cluster resharding'],
];

/** How deep wrappers (TypeORM's driverError, `cause`, AggregateError) are followed. */
const MAX_DEPTH = 4;

/**
 * The reason `error` means a dependency is unavailable, or undefined when it means something
 * else. Errors are recognised by shape rather than class: pg, pg-pool, TypeORM and Node's sockets
 * each use their own, and socket errors fail `instanceof Error` inside Jest's VM sandbox.
 */
export function dependencyFailureReason(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > MAX_DEPTH) return undefined;
  const { code, syscall, message, driverError, cause, errors } = error as {
    code?: unknown;
    syscall?: unknown;
    message?: unknown;
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string') {
    if (SOCKET_ERRORS.has(code) || POSTGRES_STATES.has(code)) return code;
    if (/^08[0-9A-Z]{3}$/.test(code)) return code;
    if (CONNECT_ERRORS.has(code) && syscall === 'connect') return code;
    const byMessage = POSTGRES_STATES_BY_MESSAGE.some(
      ([state, pattern]) => state === code && typeof message === 'string' && pattern.test(message),
    );
    if (byMessage) return code;
  }
  if (typeof message === 'string') {
    const known = CODELESS_MESSAGES.find(([pattern]) => pattern.test(message));
    if (known) return known[1];
  }
  // Node's connect to a name with several addresses fails with one error per address.
  const nested = [driverError, cause, ...(Array.isArray(errors) ? errors : [])];
  for (const inner of nested) {
    if (inner === error) continue;
    const reason = dependencyFailureReason(inner, depth + 1);
    if (reason) return reason;
  }
  return undefined;
}
