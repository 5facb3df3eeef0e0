import { startApp } from './context';
import { profileRejectedPath, profileSendPath, profileVerifyPath } from './profiles';
import { publish } from './publish';
import { ceilingScenario } from './scenarios/ceiling';
import { loginScenarios } from './scenarios/login';
import { scaleScenarios } from './scenarios/scale';
import { acceptedSends, rejectedSends, slowTwilioScenario } from './scenarios/sends';
import { verifyScenarios } from './scenarios/verify';
import { ONLY, RANGE, wanted } from './settings';
import { revision, setUp } from './setup';
import { deployedNodeFlags } from './support/app.process';
import { Cleanup, log, runWithCleanup } from './support/lifecycle';
import { describeMachine } from './support/machine';
import { RunResults, ScenarioResult } from './support/report';
import { ethiopianMobile } from './support/seed';

/**
 * `npm run bench`: the service's hot paths under load, on this machine, against real PostgreSQL
 * and Redis, with the fake Twilio in its own process. See docs/BENCHMARKS.md.
 *
 * The run in order: setup.ts (database, Redis prefix, fake Twilio, configuration), the scenarios
 * (scenarios/), the CPU profiles (profiles.ts), the targets (targets.ts), then publish.ts.
 */
async function run(cleanup: Cleanup): Promise<void> {
  const started = performance.now();
  const startedAt = new Date();
  const { context, configuration, productionRefusal, tls } = await setUp(cleanup);
  const { fake, redis, monitor, environment, twilioUrl, databaseName } = context;
  const scenarios: ScenarioResult[] = [];
  const pending: string[] = [];

  log(`app A: ${databaseName}, Twilio at ${twilioUrl}`);
  const appA = await startApp(context);
  const freshDatabase = Math.round(appA.coldStartMs);
  scenarios.push(
    await ceilingScenario(context, '1', 'ceiling at the start of the run: GET /health', appA),
  );
  if (wanted('2')) {
    scenarios.push(
      await acceptedSends(
        context,
        '2',
        appA,
        RANGE.accepted,
        'send accepted: fresh numbers, registration',
        0,
        true,
      ),
    );
  }
  if (wanted('3')) {
    scenarios.push(
      await rejectedSends(
        context,
        '3',
        appA,
        ethiopianMobile(RANGE.attackers, 1),
        'send rejected: one phone 50 sends over its limits (429)',
      ),
    );
  }
  if (wanted('4')) {
    scenarios.push(
      ...(await verifyScenarios(
        context,
        appA,
        configuration.sms.maxAttempts,
        configuration.sms.expiryMinutes.registration,
      )),
    );
  }
  if (wanted('5')) {
    const login = await loginScenarios(context, appA);
    if (login) scenarios.push(...login);
    else pending.push('login-sms end to end (POST /auth/login-sms does not exist yet)');
  }
  if (wanted('6')) {
    scenarios.push(
      await slowTwilioScenario(
        context,
        '6',
        appA,
        RANGE.slowTwilio,
        `send accepted, Twilio +300 ms, 500 connections${tls ? ' (TLS: the SDK agent)' : ''}`,
      ),
    );
  }
  const highWaterMarkMiB = appA.highWaterMarkMiB();
  await appA.stop();

  let migratedDatabase = 0;
  if (tls && wanted('6b')) {
    log('app B: the same over plain HTTP (Node global agent, no socket cap)');
    const appB = await startApp(context, { twilioBaseUrl: fake.httpUrl });
    migratedDatabase = Math.round(appB.coldStartMs);
    scenarios.push(
      await slowTwilioScenario(
        context,
        '6b',
        appB,
        RANGE.http0,
        'as 6, fake Twilio over plain HTTP (no SDK socket cap)',
      ),
    );
    await appB.stop();
  }

  // Without the deployed heap cap V8 lets old space grow with the machine's memory: the same
  // load shows what the cap costs in throughput and saves in memory.
  if (wanted('2m')) {
    log("app E: scenario 2 with node's default heap limit");
    const appE = await startApp(context, { asDeployed: false });
    scenarios.push(
      await acceptedSends(
        context,
        '2m',
        appE,
        RANGE.accepted,
        `as 2, without the deployed ${deployedNodeFlags().join(' ')} (node's default heap)`,
        5_000_000,
      ),
    );
    await appE.stop();
  }

  const profile = wanted('profile') ? await profileSendPath(context) : undefined;
  const rejectedProfile = wanted('profile-429') ? await profileRejectedPath(context) : undefined;
  const verifyProfile = wanted('profile-verify')
    ? await profileVerifyPath(context, 'wrong', configuration.sms.maxAttempts)
    : undefined;
  const rightCodeProfile = wanted('profile-verify-right')
    ? await profileVerifyPath(context, 'right', configuration.sms.maxAttempts)
    : undefined;

  let scale: RunResults['scale'] = {
    redisKeys: 0,
    redisSeedSeconds: 0,
    rows: 0,
    rowsSeedSeconds: 0,
  };
  if (wanted('7')) {
    const scaled = await scaleScenarios(context);
    if (!migratedDatabase) migratedDatabase = scaled.coldStartMs;
    scenarios.push(...scaled.scenarios);
    scale = scaled.scale;
  }

  if (!ONLY) {
    // The host's speed drifts within a run: the ceiling is measured again at the end, on an app of
    // its own, and every ratio is taken to the higher of the two (ceilingOf in report.ts).
    const appF = await startApp(context);
    const name = 'ceiling again at the end of the run: GET /health on a fresh app';
    scenarios.push(await ceilingScenario(context, '1e', name, appF));
    await appF.stop();
  }

  const results: RunResults = {
    date: startedAt.toISOString().slice(0, 10),
    startedAt: startedAt.toISOString(),
    totalSeconds: 0,
    machine: await describeMachine(monitor, await redis.info('server')),
    revision: revision(),
    settings: {
      nodeEnv: 'test',
      productionRefusal,
      twilioTransport: tls
        ? 'HTTPS to the fake (self-signed, TWILIO_CA_BUNDLE): the twilio SDK keep-alive agent as in production'
        : 'HTTP to the fake',
      environment: {
        ...Object.fromEntries(
          Object.entries(environment(twilioUrl)).filter(
            ([name]) => !/SECRET|KEY|TOKEN|SID|URL|BUNDLE|PREFIX/.test(name),
          ),
        ),
        DATABASE_POOL_SIZE: String(configuration.database.poolSize),
      },
    },
    coldStartMs: { freshDatabase, migratedDatabase },
    highWaterMarkMB: Math.round(highWaterMarkMiB * 1.048576 * 10) / 10,
    scenarios,
    scale,
    profile,
    rejectedProfile,
    verifyProfile,
    rightCodeProfile,
    targets: [],
    pending,
  };
  results.totalSeconds = Math.round((performance.now() - started) / 1000);
  publish(results);
}

runWithCleanup('bench', run);
