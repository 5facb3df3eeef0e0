import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { FakeTwilioServer } from '../../test/fakes/fake-twilio-server';
import type { FakeTwilioCommand, FakeTwilioReply, FakeTwilioReady } from './fake-twilio.process';

/**
 * The fake Twilio in a process of its own, so its work never shares the app's event loop nor the
 * load generator's. Commanded over IPC by fake-twilio.process.ts; exits when the parent goes away.
 *
 * With BENCH_TLS_CERT/BENCH_TLS_KEY it also listens on HTTPS and forwards to the fake: the app
 * then talks TLS through the twilio SDK's own keep-alive agent, as it does with the real Twilio
 * (over plain HTTP the SDK falls back to Node's global agent, which has no socket cap).
 */
async function main(): Promise<void> {
  const fake = await FakeTwilioServer.start({
    accountSid: required('BENCH_TWILIO_ACCOUNT_SID'),
    authToken: required('BENCH_TWILIO_AUTH_TOKEN'),
    latencyMs: Number(process.env.BENCH_TWILIO_LATENCY_MS ?? 0),
  });
  const tls = { handshakes: 0 };
  const httpsUrl = await startTlsFront(fake.url, tls);

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

async function startTlsFront(
  upstreamUrl: string,
  counters: { handshakes: number },
): Promise<string | undefined> {
  const certificate = process.env.BENCH_TLS_CERT;
  const key = process.env.BENCH_TLS_KEY;
  if (!certificate || !key) return undefined;
  const upstream = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const server = createHttpsServer(
    { cert: readFileSync(certificate), key: readFileSync(key) },
    (incoming, response) => {
      const forwarded = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
          agent,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forwarded.on('error', () => response.destroy());
      incoming.pipe(forwarded);
    },
  );
  server.on('secureConnection', () => (counters.handshakes += 1));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
