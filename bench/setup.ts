import Redis from 'ioredis';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Hasher } from '../src/common/hasher';
import { Configuration } from '../src/config/configuration';
import { ConfigurationError } from '../src/config/configuration-error';
import { loadConfiguration } from '../src/config/load-configuration';
import { Context } from './context';
import { QUIET_WAIT_BUDGET_MS, RAISED_LIMITS, REDIS_PREFIX_ROOT, REDIS_URL } from './settings';
import {
  ADMIN_DATABASE_URL,
  BENCH_DATABASE_PREFIX,
  createDatabase,
  dropAbandonedDatabases,
  dropDatabase,
  isAlive,
} from './support/database';
import { FakeTwilioProcess } from './support/fake-twilio.process';
import { Cleanup, hex, log } from './support/lifecycle';
import { deleteKeys } from './support/seed';

/** The commit measured, and how many files differed from it (read-only git). */
export function revision(): { commit: string; uncommittedFiles: number } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src', 'migrations']);
    return { commit, uncommittedFiles: status.toString().split('\n').filter(Boolean).length };
  } catch {
    return { commit: 'unknown', uncommittedFiles: 0 };
  }
}

/** A throwaway self-signed certificate for 127.0.0.1, so the app reaches the fake over TLS. */
export function makeCertificate(
  directory: string,
): { certificate: string; key: string } | undefined {
  const certificate = join(directory, 'fake-twilio.crt');
  const key = join(directory, 'fake-twilio.key');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        certificate,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { certificate, key };
  } catch {
    return undefined;
  }
}

/** Keys of runs whose process is gone (`bench:<pid>:…`). */
export async function deleteAbandonedKeys(redis: Redis): Promise<number> {
  const owners = new Set<number>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX_ROOT}*`, 'COUNT', 5_000);
    for (const key of keys) owners.add(Number(key.split(':')[1]));
    cursor = next;
  } while (cursor !== '0');
  let deleted = 0;
  for (const owner of owners) {
    if (Number.isInteger(owner) && !isAlive(owner)) {
      deleted += await deleteKeys(redis, `${REDIS_PREFIX_ROOT}${owner}:`);
    }
  }
  return deleted;
}

/**
 * What a run needs before its first scenario, each undone by `cleanup`: what dead runs left
 * behind removed, the fake Twilio (over TLS when openssl is there), a database and a Redis key
 * prefix of the run's own, and the app's environment with the configuration it loads.
 */
export async function setUp(cleanup: Cleanup): Promise<{
  context: Context;
  configuration: Configuration;
  productionRefusal: string[];
  tls: { certificate: string; key: string } | undefined;
}> {
  const dropped = await dropAbandonedDatabases();
  if (dropped.length > 0) log(`dropped databases of dead runs: ${dropped.join(', ')}`);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  cleanup.add('redis client', () => redis.quit());
  const abandoned = await deleteAbandonedKeys(redis);
  if (abandoned > 0) log(`deleted ${abandoned} Redis keys of dead runs`);

  const scratch = mkdtempSync(join(tmpdir(), 'sms-bench-'));
  cleanup.add('scratch directory', async () => rmSync(scratch, { recursive: true, force: true }));
  const tls = makeCertificate(scratch);
  if (!tls) log('openssl unavailable: the app reaches the fake Twilio over plain HTTP');

  const twilio = {
    accountSid: `AC${hex(16)}`,
    authToken: hex(16),
    messagingServiceSid: `MG${hex(16)}`,
  };
  const fake = await FakeTwilioProcess.start({ ...twilio, latencyMs: 0, tls });
  cleanup.add('fake Twilio', () => fake.stop());

  const databaseName = `${BENCH_DATABASE_PREFIX}${process.pid}_${hex(3)}`;
  const databaseUrl = await createDatabase(databaseName);
  cleanup.add(`database ${databaseName}`, () => dropDatabase(databaseName));
  const monitor = new Client({ connectionString: databaseUrl });
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await monitor.connect();
  await admin.connect();
  cleanup.add('database clients', async () => {
    await monitor.end();
    await admin.end();
  });
  const redisPrefix = `${REDIS_PREFIX_ROOT}${process.pid}:${hex(3)}:`;
  cleanup.add(`Redis keys ${redisPrefix}*`, () => deleteKeys(redis, redisPrefix));

  const hashSecret = hex(32);
  const jwtSecret = hex(32);
  const adminApiKey = hex(32);
  const environment = (twilioBaseUrl: string): Record<string, string> => ({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    HASH_SECRET: hashSecret,
    JWT_SECRET: jwtSecret,
    ADMIN_API_KEY: adminApiKey,
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    SMS_PROVIDER: 'twilio-messaging',
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_MESSAGING_SERVICE_SID: twilio.messagingServiceSid,
    TWILIO_API_BASE_URL: twilioBaseUrl,
    // Read by the twilio SDK itself: trust the fake's self-signed certificate.
    ...(tls ? { TWILIO_CA_BUNDLE: tls.certificate } : {}),
    // Prepared verifications take 9 wrong codes each; the work per check is the same.
    SMS_MAX_ATTEMPTS: '10',
    // Fresh numbers never verify, so enforce mode would hold the country after 50 sends; shadow
    // mode still runs every pumping query and cache of enforce mode.
    SMS_PUMPING_MODE: 'shadow',
    // The load generator is one client address holding up to 500 connections.
    HTTP_MAX_CONNECTIONS_PER_CLIENT: '1000',
    ...RAISED_LIMITS,
  });
  const twilioUrl = fake.httpsUrl ?? fake.httpUrl;
  const configuration = loadConfiguration(environment(twilioUrl));
  let productionRefusal: string[] = [];
  try {
    loadConfiguration({ ...environment(twilioUrl), NODE_ENV: 'production' });
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    productionRefusal = error.problems;
  }

  const context: Context = {
    cleanup,
    fake,
    databaseName,
    databaseUrl,
    monitor,
    admin,
    redis,
    redisPrefix,
    hasher: new Hasher(hashSecret),
    smsLimits: configuration.smsLimits,
    environment,
    twilioUrl,
    quietBudget: { ms: QUIET_WAIT_BUDGET_MS },
  };
  return { context, configuration, productionRefusal, tls };
}
