import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { SmsEvent, SmsEvents } from '../common/events/sms-events';
import { Hasher } from '../common/hasher';
import { RandomSource } from '../common/random';
import { Configuration } from '../config/configuration';
import { loadConfiguration } from '../config/load-configuration';
import { PhoneService } from '../phone/phone.service';
import { SpendBudgetService } from './abuse/budget/spend-budget.service';
import { PumpingGuardService } from './abuse/pumping/pumping-guard.service';
import { ActiveHold } from './abuse/pumping/sms-hold.repository';
import { RateLimitService } from './abuse/rate-limit.service';
import { InMemoryVerifications } from '../../test/fakes/in-memory-verifications';
import { SmsRequests } from './abuse/sms-request';
import { CarrierLookupService } from './carrier-lookup.service';
import { CodeDelivery } from './code-delivery';
import { DeliveryFilters } from './delivery-filters';
import { NumberHistory } from './number-history';
import { ProviderTiming } from './provider-timing';
import { SendCodeReceipt, SmsProvider } from './providers/sms-provider';
import { SmsProviders } from './providers/sms-providers';
import { VerificationResendLimitError } from './sms.errors';
import { SmsTextService } from './texts/sms-text.service';
import { VerificationResources } from './verification-resources';
import { VerificationSender } from './verification-sender';

const NOW = new Date('2026-06-01T12:00:00Z');
const PHONE = '+251911234567';
const hasher = new Hasher('unit-test-secret-0123456789abcdef0123');

class CountingRandom extends RandomSource {
  private next = 0;
  digits(length: number) {
    return String(++this.next).padStart(length, '0');
  }
  token() {
    return `token${++this.next}`;
  }
  hex(bytes: number) {
    return String(++this.next).padStart(bytes * 2, '0');
  }
}

/** The daily budget, counted: what is reserved and what was given back. */
class Budget {
  reserved = 0;
  released = 0;
  currency = 'USD';
  priceOf() {
    return 0.05;
  }
  async assertAvailable() {}
  async reserve() {
    this.reserved += 1;
    return { day: 'today', amount: 0.05 };
  }
  async release(reservation: unknown) {
    if (reservation) this.released += 1;
  }
}

function setUp(options: { hold?: ActiveHold; verifiedBefore?: boolean } = {}) {
  const configuration = loadConfiguration({
    NODE_ENV: 'test',
    SMS_MAX_SENDS_PER_VERIFICATION: '2',
  });
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const verifications = new InMemoryVerifications();
  const budget = new Budget();
  const events: SmsEvent[] = [];
  const bus = new SmsEvents();
  bus.subscribe((event) => events.push(event));
  const sent: { to: string; text?: string }[] = [];
  let failure: Error | undefined;
  const provider: SmsProvider = {
    name: 'twilio-messaging',
    ownsCodes: false,
    async send(message): Promise<SendCodeReceipt> {
      if (failure) throw failure;
      sent.push({ to: message.to, text: message.text?.body });
      return { sid: `SM${sent.length}`, kind: 'message' };
    },
    check: () => Promise.reject(new Error('codes are ours')),
    supportsLocale: () => true,
  };
  const providers = {
    forLocale: () => provider,
    byName: () => provider,
  } as unknown as SmsProviders;
  const random = new CountingRandom();
  const clock: Clock = { now: () => NOW };
  const texts = {
    render: (_purpose: string, _locale: string, { code }: { code: string }) => ({
      body: `code ${code}`,
      segments: 1,
      encoding: 'GSM-7',
    }),
  } as unknown as SmsTextService;
  const pumping = {
    enabled: true,
    holdOn: async () => options.hold,
  } as unknown as PumpingGuardService;
  const repository = verifications.asRepository();
  const resources = new VerificationResources(hasher, random, config);
  const phones = new PhoneService(config);
  const sender = new VerificationSender(
    repository,
    new CodeDelivery(
      repository,
      budget as unknown as SpendBudgetService,
      { carrierOf: async () => undefined } as unknown as CarrierLookupService,
      bus,
      texts,
      config,
    ),
    resources,
    new ProviderTiming(config),
    phones,
    new SmsRequests(phones, hasher),
    providers,
    { consumeSparedSend: async () => true } as unknown as RateLimitService,
    pumping,
    budget as unknown as SpendBudgetService,
    { refusal: async () => undefined } as unknown as DeliveryFilters,
    { verifiedBefore: async () => options.verifiedBefore ?? false } as unknown as NumberHistory,
    bus,
    hasher,
    clock,
    random,
    config,
  );
  const send = () => sender.send({ phoneNumber: PHONE, purpose: 'login', clientIp: '192.0.2.1' });
  const failWith = (error: Error | undefined) => {
    failure = error;
  };
  return { verifications, budget, events, sent, send, failWith };
}

const HOLD: ActiveHold = {
  id: 'hold-1',
  scope: 'country',
  scopeKey: 'ET',
  label: 'ET',
  mode: 'enforced',
  sends: 50,
  verified: 0,
  ranges: 9,
  networks: 12,
  createdAt: NOW,
  expiresAt: new Date(NOW.getTime() + 3_600_000),
};

describe('VerificationSender', () => {
  it('sends a code whose hash the verification keeps, and answers with its sid', async () => {
    const { verifications, sent, events, budget, send } = setUp();
    const answer = await send();
    expect(sent).toHaveLength(1);
    const [{ text }] = sent;
    const code = /code (\d+)/.exec(text!)![1];
    const [row] = verifications.rows;
    expect(row.code_hash).toBe(hasher.hash('code', code));
    expect(answer).toMatchObject({ sid: row.twilio_sid, to: PHONE, status: 'pending' });
    expect(events.map((event) => event.status)).toEqual(['sent']);
    expect(budget.reserved).toBe(1);
  });

  it('sends again into the live verification, with a new code, until its sends run out', async () => {
    const { verifications, sent, send } = setUp();
    const first = await send();
    const second = await send();
    expect(second.sid).toBe(first.sid);
    expect(verifications.rows).toHaveLength(1);
    expect(sent[1].text).not.toBe(sent[0].text);
    expect(verifications.rows[0].code_hash).toBe(
      hasher.hash('code', /code (\d+)/.exec(sent[1].text!)![1]),
    );
    const refused = await send().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(VerificationResendLimitError);
    expect(sent).toHaveLength(2);
  });

  it('leaves no live verification and spends no budget when the provider fails', async () => {
    const { verifications, budget, events, send, failWith } = setUp();
    failWith(new Error('Twilio is down'));
    await expect(send()).rejects.toThrow('Twilio is down');
    expect(verifications.rows[0].status).toBe('failed');
    expect(budget.released).toBe(1);
    expect(events.map((event) => event.status)).toEqual(['failed']);

    failWith(undefined);
    await send();
    expect(verifications.rows.filter((row) => row.status === 'pending')).toHaveLength(1);
  });

  it('gives a failed resend its slot back, and the first code stays valid', async () => {
    const { verifications, send, failWith } = setUp();
    await send();
    const firstCode = verifications.rows[0].code_hash;
    failWith(new Error('Twilio is down'));
    await expect(send()).rejects.toThrow('Twilio is down');
    expect(verifications.rows[0]).toMatchObject({ send_count: 1, code_hash: firstCode });
  });

  it('answers a stranger under a pumping hold like a send and delivers nothing', async () => {
    const held = setUp({ hold: HOLD });
    const answer = await held.send();
    expect(held.sent).toHaveLength(0);
    expect(held.budget.reserved).toBe(0);
    expect(held.events).toMatchObject([{ status: 'held', layer: 'pumping-country' }]);
    expect(held.verifications.rows[0].channel).toBe('suppressed');

    const real = setUp();
    const realAnswer = await real.send();
    expect(Object.keys(answer).sort()).toEqual(Object.keys(realAnswer).sort());
    expect(answer.sid).toMatch(/^VE[0-9a-f]{32}$/);
  });

  it('delivers to a number that verified before, whatever the hold', async () => {
    const { sent, send } = setUp({ hold: HOLD, verifiedBefore: true });
    await send();
    expect(sent).toHaveLength(1);
  });
});
