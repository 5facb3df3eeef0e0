import { readFileSync } from 'node:fs';
import { FakeTwilioServer } from '../../test/fakes/fake-twilio-server';
import type { FakeTwilioCommand, FakeTwilioReply, FakeTwilioReady } from './fake-twilio.process';

/**
 * The fake Twilio in a process of its own, so its work never shares the app's event loop nor the
 * load generator's. Commanded over IPC by fake-twilio.process.ts; exits when the parent goes away.
 *
 * With BENCH_TLS_CERT/BENCH_TLS_KEY the fake also listens on HTTPS: the app then talks TLS through
 * the twilio SDK's own keep-alive agent, as it does with the real Twilio (over plain HTTP the SDK
 * falls back to Node's global agent, which has no socket cap). An earlier HTTPS front that
 * forwarded to the HTTP port cost the fake twice the work per call, on the app's two cores.
 */
async function main(): Promise<void> {
  const fake = await FakeTwilioServer.start({
    accountSid: required('BENCH_TWILIO_ACCOUNT_SID'),
    authToken: required('BENCH_TWILIO_AUTH_TOKEN'),
    latencyMs: Number(process.env.BENCH_TWILIO_LATENCY_MS ?? 0),
  });
  const tls = { handshakes: 0 };
  const httpsUrl = await listenTls(fake, tls);

  process.on('message', (command: FakeTwilioCommand) => {
    const reply = (result: unknown): void => {
      process.send?.({ id: command.id, result } satisfies FakeTwilioReply);
    };
    switch (command.type) {
      case 'latency':
        fake.latencyMs = command.ms;
        return reply(null);
      case 'reset':
        // Also keeps the fake's memory flat between scenarios: it records every request.
        fake.reset();
        tls.handshakes = 0;
        return reply(null);
      case 'messages':
        return reply(fake.messages.map((message) => ({ to: message.to, body: message.body })));
      case 'counts':
        return reply({
          requests: fake.requests.length,
          messages: fake.messages.length,
          tlsHandshakes: tls.handshakes,
        });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', httpUrl: fake.url, httpsUrl } satisfies FakeTwilioReady);
}

/** The fake's own HTTPS port, when the bench gave it a certificate. */
function listenTls(
  fake: FakeTwilioServer,
  counters: { handshakes: number },
): Promise<string> | undefined {
  const certificate = process.env.BENCH_TLS_CERT;
  const key = process.env.BENCH_TLS_KEY;
  if (!certificate || !key) return undefined;
  return fake.listenTls(
    { cert: readFileSync(certificate), key: readFileSync(key) },
    () => (counters.handshakes += 1),
  );
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

main().catch((error: unknown) => {
  process.stderr.write(`fake Twilio failed: ${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
