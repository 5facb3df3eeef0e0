import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InMemoryEventCosts, InMemoryMessages } from '../../../test/fakes/in-memory-delivery';
import { InMemorySuppressions } from '../../../test/fakes/in-memory-suppressions';
import { FakeClock } from '../../../test/support/fake-clock';
import { SmsEvent, SmsEvents } from '../../common/events/sms-events';
import { RecurringJobs } from '../../common/recurring-jobs';
import { Configuration } from '../../config/configuration';
import { loadConfiguration } from '../../config/load-configuration';
import { SuppressionService } from '../../sms/abuse/suppression/suppression.service';
import { DeliveryFilters } from '../../sms/delivery-filters';
import { SmsProviders } from '../../sms/providers/sms-providers';
import { DeliveryTrackingService } from './delivery-tracking.service';

const SID = 'SM0123456789abcdef0123456789abcdef';
const OTHER_SID = 'SMfedcba9876543210fedcba9876543210';
const PHONE_HASH = 'a'.repeat(64);
const VERIFICATION = '3f0c2a9e-8b1d-4c7e-9a55-2d4b6e8f1a03';
const HOUR_MS = 3_600_000;

/** Twilio's prices by sid; a sid without one has no price yet, `failing` makes the call throw. */
class Prices {
  readonly bySid = new Map<string, { amount: number; currency: string }>();
  failing?: string;
  async messagePrice(sid: string) {
    if (sid === this.failing) throw new Error('Twilio unreachable');
    return this.bySid.get(sid) ?? null;
  }
}

function setUp() {
  const configuration = loadConfiguration({
    NODE_ENV: 'test',
    SMS_SUPPRESSION_HOURS: '24',
    SMS_SUPPRESSION_ERROR_CODES: '30003,30005',
    TWILIO_PRICE_FETCH_DELAY_MS: '60000',
    SMS_BUDGET_CURRENCY: 'USD',
  });
  const config = {
    get: (key: keyof Configuration) => configuration[key],
  } as unknown as ConfigService<Configuration, true>;
  const clock = new FakeClock(new Date('2026-06-01T12:00:00Z'));
  const messages = new InMemoryMessages();
  const suppressions = new InMemorySuppressions(clock);
  const costs = new InMemoryEventCosts();
  const bus = new SmsEvents();
  const published: SmsEvent[] = [];
  const suppression = new SuppressionService(suppressions.asRepository(), config);
  // As the SMS module registers it.
  const filters = new DeliveryFilters();
  filters.register('bounced', (target) => suppression.isDeliverable(target.phoneHash));
  const prices = new Prices();
  const service = new DeliveryTrackingService(
    messages.asRepository(),
    suppression,
    costs.asRepository(),
    bus,
    prices as unknown as SmsProviders,
    clock,
    config,
    new RecurringJobs(new SchedulerRegistry(), config),
  );
  service.onModuleInit();
  bus.subscribe((event) => published.push(event));
  const send = (overrides: Partial<SmsEvent> = {}) =>
    bus.publish({
      status: 'sent',
      occurredAt: clock.now(),
      providerSid: SID,
      phoneHash: PHONE_HASH,
      country: 'ET',
      purpose: 'login',
      verificationId: VERIFICATION,
      channel: 'twilio-messaging',
      cost: 0.05,
      ...overrides,
    });
  /** The delivery events published after the sends. */
  const receipts = () => published.filter((event) => event.status !== 'sent');
  const refusal = () =>
    filters.refusal({ e164: '+251911234567', phoneHash: PHONE_HASH, purpose: 'login' });
  return { service, clock, messages, suppressions, costs, prices, send, receipts, refusal };
}

type Tracking = ReturnType<typeof setUp>;
let current: Tracking | undefined;

function tracking(): Tracking {
  current = setUp();
  return current;
}

afterEach(async () => {
  await current?.service.onModuleDestroy();
  current = undefined;
});

/** Lets the tracking insert of a send (a batched write, a turn away) land. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('DeliveryTrackingService', () => {
  it("reports a delivery once, with the message's number, purpose and verification", async () => {
    const { service, send, receipts } = tracking();
    send();
    await settle();

    expect(await service.handle({ messageSid: SID, status: 'sent' })).toEqual({ changed: true });
    expect(await service.handle({ messageSid: SID, status: 'delivered' })).toEqual({
      changed: true,
    });
    expect(await service.handle({ messageSid: SID, status: 'delivered' })).toEqual({
      changed: false,
    });
    expect(receipts()).toMatchObject([
      {
        status: 'delivered',
        phoneHash: PHONE_HASH,
        country: 'ET',
        purpose: 'login',
        verificationId: VERIFICATION,
        providerSid: SID,
        channel: 'twilio-messaging',
      },
    ]);
  });

  it('lets a late callback change nothing: a `sent` or a failure after the delivery', async () => {
    const { service, messages, send, receipts, refusal } = tracking();
    send();
    await settle();
    await service.handle({ messageSid: SID, status: 'delivered' });

    expect(await service.handle({ messageSid: SID, status: 'sent' })).toEqual({ changed: false });
    expect(
      await service.handle({ messageSid: SID, status: 'undelivered', errorCode: '30003' }),
    ).toEqual({ changed: false });
    expect(messages.rows.get(SID)).toMatchObject({ statusName: 'delivered', deliveryError: null });
    expect(receipts().map((event) => event.status)).toEqual(['delivered']);
    expect(await refusal()).toBeUndefined();
  });

  it('changes nothing for a message we did not send, or a status Twilio does not send', async () => {
    const { service, send, receipts } = tracking();
    send();
    await settle();
    expect(await service.handle({ messageSid: OTHER_SID, status: 'delivered' })).toEqual({
      changed: false,
    });
    expect(await service.handle({ messageSid: SID, status: 'constructor' })).toEqual({
      changed: false,
    });
    expect(receipts()).toEqual([]);
  });

  it('tracks only Messaging sends it can attribute', async () => {
    const { messages, send } = tracking();
    send({ providerSid: 'VE0123456789abcdef0123456789abcdef', channel: 'twilio-verify' });
    send({ providerSid: OTHER_SID, phoneHash: undefined });
    send({ status: 'failed' });
    await settle();
    expect(messages.rows.size).toBe(0);
  });

  it('counts a delivery whose callback arrives before the tracking row is written', async () => {
    const { service, messages, send, receipts } = tracking();
    messages.slowInserts = true;
    send();
    const handled = service.handle({ messageSid: SID, status: 'delivered' });
    await settle();
    messages.releaseInserts();
    expect(await handled).toEqual({ changed: true });
    expect(receipts().map((event) => event.status)).toEqual(['delivered']);
  });

  it('suppresses a number that bounced permanently, for the configured hours only', async () => {
    const { service, clock, send, receipts, refusal } = tracking();
    send();
    await settle();
    expect(await refusal()).toBeUndefined();

    await service.handle({ messageSid: SID, status: 'undelivered', errorCode: '30003' });
    expect(receipts()).toMatchObject([
      {
        status: 'undelivered',
        errorCode: '30003',
        errorMessage: 'Unreachable destination handset',
      },
    ]);
    expect(await refusal()).toBe('bounced');
    clock.advance(24 * HOUR_MS - 1);
    expect(await refusal()).toBe('bounced');
    clock.advance(1);
    expect(await refusal()).toBeUndefined();
  });

  it('reports other failures as undelivered without suppressing the number', async () => {
    const { service, send, receipts, refusal } = tracking();
    send();
    send({ providerSid: OTHER_SID });
    await settle();
    await service.handle({ messageSid: SID, status: 'failed', errorCode: '30007' });
    await service.handle({ messageSid: OTHER_SID, status: 'undelivered', errorCode: '0' });
    expect(receipts()).toMatchObject([
      { status: 'undelivered', providerSid: SID, errorCode: '30007' },
      { status: 'undelivered', providerSid: OTHER_SID, errorCode: undefined },
    ]);
    expect(await refusal()).toBeUndefined();
  });

  it('prices finished messages once their price is due, and swaps the estimate once', async () => {
    const { service, clock, costs, prices, send } = tracking();
    send();
    send({ providerSid: OTHER_SID, purpose: undefined });
    await settle();
    await service.handle({ messageSid: SID, status: 'delivered' });
    await service.handle({ messageSid: OTHER_SID, status: 'sent' });
    prices.bySid.set(SID, { amount: 0.0325, currency: 'USD' });
    prices.bySid.set(OTHER_SID, { amount: 0.04, currency: 'USD' });

    expect(await service.fetchDuePrices()).toBe(0);
    clock.advance(60_000);
    expect(await service.fetchDuePrices()).toBe(1);
    expect(costs.replaced).toEqual([
      {
        sid: SID,
        amount: 0.0325,
        currency: 'USD',
        countryCode: 'ET',
        purpose: 'login',
        estimatedCost: '0.050000',
      },
    ]);
    expect(await service.fetchDuePrices()).toBe(0);
    expect(costs.replaced).toHaveLength(1);
  });

  it('keeps the estimate of a message priced in another currency', async () => {
    const { service, clock, messages, costs, prices, send } = tracking();
    send();
    await settle();
    await service.handle({ messageSid: SID, status: 'delivered' });
    prices.bySid.set(SID, { amount: 0.03, currency: 'EUR' });
    clock.advance(60_000);

    expect(await service.fetchDuePrices()).toBe(1);
    expect(messages.rows.get(SID)).toMatchObject({ price: 0.03, priceUnit: 'EUR' });
    expect(costs.replaced).toEqual([]);
  });

  it('stops at the first price it cannot fetch, keeping those fetched before', async () => {
    const { service, clock, messages, prices, send } = tracking();
    send();
    await settle();
    await service.handle({ messageSid: SID, status: 'delivered' });
    clock.advance(1_000);
    send({ providerSid: OTHER_SID });
    await settle();
    await service.handle({ messageSid: OTHER_SID, status: 'delivered' });
    prices.bySid.set(SID, { amount: 0.03, currency: 'USD' });
    prices.failing = OTHER_SID;
    clock.advance(60_000);

    await expect(service.fetchDuePrices()).rejects.toThrow('Twilio unreachable');
    expect(messages.rows.get(SID)?.price).toBe(0.03);
    prices.failing = undefined;
    prices.bySid.set(OTHER_SID, { amount: 0.04, currency: 'USD' });
    expect(await service.fetchDuePrices()).toBe(1);
  });
});
