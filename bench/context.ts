import type Redis from 'ioredis';
import type { Client } from 'pg';
import { Hasher } from '../src/common/hasher';
import { SmsLimitsConfig } from '../src/sms/abuse/abuse.config';
import { AppProcess, deployedNodeFlags } from './support/app.process';
import { FakeTwilioProcess } from './support/fake-twilio.process';
import { Cleanup, freePort } from './support/lifecycle';

/** What every scenario and profile of a run shares: its processes, database, Redis and limits. */
export interface Context {
  cleanup: Cleanup;
  fake: FakeTwilioProcess;
  databaseName: string;
  databaseUrl: string;
  /** On the run's database: seeding, preparing, counting written rows. */
  monitor: Client;
  /** On the admin database, so sampling pg_stat_* adds no transactions to the run's database. */
  admin: Client;
  redis: Redis;
  redisPrefix: string;
  hasher: Hasher;
  smsLimits: SmsLimitsConfig;
  environment: (twilioBaseUrl: string) => Record<string, string>;
  twilioUrl: string;
  /** Seconds the whole run may still spend waiting for other users' load to pass. */
  quietBudget: { ms: number };
}

export async function startApp(
  context: Context,
  options: { twilioBaseUrl?: string; nodeFlags?: string[]; asDeployed?: boolean } = {},
): Promise<AppProcess> {
  const port = await freePort();
  const deployed = options.asDeployed === false ? [] : deployedNodeFlags();
  const app = await AppProcess.start({
    env: { ...context.environment(options.twilioBaseUrl ?? context.twilioUrl), PORT: String(port) },
    port,
    nodeFlags: [...deployed, ...(options.nodeFlags ?? [])],
  });
  context.cleanup.add(`app ${app.pid}`, () => app.stop());
  return app;
}
