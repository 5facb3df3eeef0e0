import type { Redis } from 'ioredis';
import type { Client } from 'pg';
import { Hasher } from '../../src/common/hasher';
import { sendRules } from '../../src/sms/abuse/policies';
import { SmsLimitsConfig } from '../../src/sms/abuse/abuse.config';
import { withClient } from './database';

/**
 * The `index`-th Ethiopian mobile number of `range` (0-9): +2519 PPPP RQQQ, where PPPP is the
 * number range (PhoneService.prefixOf drops the last four digits) and R the benchmark's range.
 * Consecutive indexes walk through all 10,000 ranges before reusing one (7919 is coprime with
 * 10,000), as real traffic spreads over a country's numbering plan; sequential numbers would all
 * fall in one range, which only pumping fraud looks like. Distinct for index < 10,000,000.
 */
export function ethiopianMobile(range: number, index: number): string {
  const numberRange = (index * 7919) % 10_000;
  const subscriber = range * 1_000 + Math.floor(index / 10_000);
  return `+2519${String(numberRange).padStart(4, '0')}${String(subscriber).padStart(4, '0')}`;
}

/** `count` numbers of `range` from `offset` on (see ethiopianMobile). */
export function ethiopianMobiles(range: number, count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, index) => ethiopianMobile(range, offset + index));
}

/** The number range rate limits and pumping holds key on (PhoneService.prefixOf). */
export function phonePrefix(e164: string): string {
  return e164.slice(0, -4);
}

/** The verification row fields the send path writes, for the rows the benchmark prepares. */
export interface PreparedVerification {
  e164: string;
  code: string;
}

/**
 * Pending registration verifications with known codes, written the way
 * VerificationSender.createLive writes them (HMAC'd phone, prefix and code), so verify-code
 * can be measured without first sending thousands of codes through the API.
 */
export async function prepareVerifications(
  client: Client,
  hasher: Hasher,
  verifications: PreparedVerification[],
  options: { maxAttempts: number; expiryMinutes: number },
): Promise<void> {
  await client.query(
    `INSERT INTO sms_verifications
       (phone_number_hash, purpose, twilio_sid, status, channel, code_hash, locale, country_code,
        max_attempts, send_count, last_sent_at, expires_at, created_at, updated_at,
        phone_prefix_hash)
     SELECT phone, 'registration', 'VE' || replace(gen_random_uuid()::text, '-', ''), 'pending',
            'twilio-messaging', code, 'am', 'ET', $4, 1, now(),
            now() + make_interval(mins => $5), now(), now(), prefix
       FROM unnest($1::text[], $2::text[], $3::text[]) AS prepared(phone, code, prefix)`,
    [
      verifications.map(({ e164 }) => hasher.hash('phone', e164)),
      verifications.map(({ code }) => hasher.hash('code', code)),
      verifications.map(({ e164 }) => hasher.hash('phone-prefix', phonePrefix(e164))),
      options.maxAttempts,
      options.expiryMinutes,
    ],
  );
}

/**
 * Accounts with a verified phone, inserted directly: registering through the API would spend
 * an argon2 hash (19 MiB, ~50 ms of CPU) per account before the benchmark starts. The password
 * hash is never checked by login-sms.
 */
export async function seedUsers(client: Client, hasher: Hasher, phones: string[]): Promise<void> {
  await client.query(
    `INSERT INTO users (phone_number, phone_number_hash, password_hash, phone_verified_at)
     SELECT phone, hash, '$argon2id$v=19$m=19456,t=2,p=1$bench-not-a-real-hash', now()
       FROM unnest($1::text[], $2::text[]) AS seeded(phone, hash)`,
    [phones, phones.map((phone) => hasher.hash('phone', phone))],
  );
}

/**
 * `count` historic verifications (verified, expired or failed) over the last 90 days, by
 * INSERT … SELECT generate_series, in `slices` contiguous ranges on as many connections at once
 * (one backend fills a core; 5 M rows took 105 s on one here). Keys (ids, phone, token and prefix
 * HMACs) are spread evenly over their whole key space but generated in ascending order, so every
 * B-tree grows at its right edges: random keys took 6 min 18 s for 5 M rows here. Lookups by the
 * app's random HMACs still land anywhere in the indexes; the indexes are about 20 % smaller than
 * randomly filled ones (fuller leaf pages).
 */
export async function seedHistoricVerifications(
  url: string,
  count: number,
  slices = 2,
): Promise<void> {
  // Even spacing over 63 bits: key(i) = i * step stays below 2^63 for every i <= count.
  const step = (2n ** 63n - 1n) / BigInt(count);
  const prefixStep = step * 40n;
  const size = Math.ceil(count / slices);
  const ranges = Array.from({ length: slices }, (_, slice) => ({
    from: slice * size + 1,
    to: Math.min(count, (slice + 1) * size),
  }));
  await Promise.all(
    ranges.map(({ from, to }) =>
      withClient(url, (client) =>
        client.query(
          `INSERT INTO sms_verifications
             (id, phone_number_hash, purpose, twilio_sid, message_sid, status, channel, code_hash,
              locale, country_code, attempts, max_attempts, send_count, last_sent_at, expires_at,
              verified_at, token_hash, token_expires_at, token_consumed_at, created_at, updated_at,
              phone_prefix_hash)
           SELECT (k || substr(tail, 1, 16))::uuid, k || substr(tail, 1, 48),
                  (ARRAY['registration','registration','login','login','login','password_reset',
                         'two_factor'])[1 + i % 7]::sms_purpose,
                  NULL, 'SM' || substr(tail, 17, 32),
                  (CASE WHEN r < 0.72 THEN 'verified' WHEN r < 0.93 THEN 'expired' ELSE 'failed' END)
                    ::sms_verification_status,
                  'twilio-messaging', substr(tail, 3, 64), CASE WHEN c = 'ET' THEN 'am' ELSE 'en' END,
                  c, CASE WHEN r < 0.72 THEN 1 ELSE 3 END, 3, 1, t, t + interval '10 minutes',
                  CASE WHEN r < 0.72 THEN t + interval '40 seconds' END,
                  CASE WHEN r < 0.72 THEN k || substr(tail, 9, 48) END,
                  CASE WHEN r < 0.72 THEN t + interval '11 minutes' END,
                  CASE WHEN r < 0.72 THEN t + interval '50 seconds' END,
                  t, t + interval '1 minute',
                  lpad(to_hex((i / 40) * $2::bigint), 16, '0')
                    || substr(md5((i / 40)::text) || md5((i / 40 + 1)::text), 1, 48)
             FROM (SELECT i, random() AS r, lpad(to_hex(i * $1::bigint), 16, '0') AS k,
                          md5(i::text) || md5((i + 1)::text) || md5((i + 2)::text) AS tail,
                          (ARRAY['ET','ET','ET','ET','ET','ET','US','US','GB','CA','AU'])[1 + i % 11] AS c,
                          now() - interval '90 days' + i * (interval '90 days' / $3) AS t
                     FROM generate_series($4::int, $5::int) AS i) AS seed`,
          [step.toString(), prefixStep.toString(), count, from, to],
        ),
      ),
    ),
  );
  // The checkpoint writes the seed's dirty pages out now rather than during the measurements.
  await withClient(url, async (client) => {
    await client.query(`VACUUM (ANALYZE) sms_verifications`);
    await client.query(`CHECKPOINT`);
  });
}

/**
 * Writes, inside Redis, the keys of a batch of phones: ARGV = now, then per phone its hit time and
 * its 32-hex key part; KEYS-free on purpose (standalone Redis), so one call carries 2,000 phones.
 * Per layer: ARGV template 'window'|'cooldown', key head, key tail, TTL ms (after the phones).
 */
const SEED_SCRIPT = `
local layers = tonumber(ARGV[1])
local phonesAt = 2 + layers * 4
for phone = phonesAt, #ARGV, 2 do
  local hitAt = tonumber(ARGV[phone])
  local part = ARGV[phone + 1]
  for layer = 0, layers - 1 do
    local kind = ARGV[2 + layer * 4]
    local key = ARGV[3 + layer * 4] .. part .. ARGV[4 + layer * 4]
    local ttl = tonumber(ARGV[5 + layer * 4])
    if kind == 'cooldown' then
      redis.call('HSET', key, 'step', 1, 'last', hitAt)
    else
      redis.call('ZADD', key, hitAt, hitAt .. '-seed')
    end
    redis.call('PEXPIREAT', key, hitAt + ttl)
  end
end
return 0
`;

/**
 * The per-phone rate-limit state of `count` phones that each sent one registration code in the
 * last 10 minutes: the keys the send policy (policies.ts) gives a phone on its own (phone,
 * purpose, cooldown), stored as redis-consume.script.ts stores them (window: sorted set of hits;
 * cooldown: hash step/last) under RedisRateLimitStore's `{rl}` hash tag. The key shapes come from
 * sendRules() itself, with a placeholder where the phone's HMAC goes.
 */
export async function seedRateLimitKeys(
  redis: Redis,
  options: {
    keyPrefix: string;
    count: number;
    config: SmsLimitsConfig;
    hasher: Hasher;
    nowMs: number;
  },
): Promise<number> {
  const { keyPrefix, config, hasher, nowMs } = options;
  const placeholder = 'f'.repeat(64);
  const layers = sendRules(
    {
      phoneHash: placeholder,
      prefixHash: '0'.repeat(64),
      country: 'ET',
      purpose: 'registration',
      ipHash: '0'.repeat(64),
    },
    config,
  ).filter((rule) => ['phone', 'purpose', 'cooldown'].includes(rule.layer));
  const layerArguments = layers.flatMap((rule) => {
    const key = `${keyPrefix}{rl}:${rule.key}`;
    const at = key.indexOf(placeholder.slice(0, 32));
    if (at === -1) throw new Error(`rate-limit key ${rule.key} does not hold the phone's HMAC`);
    const ttl = rule.type === 'cooldown' ? rule.resetAfterMs : rule.windowMs;
    return [rule.type, key.slice(0, at), key.slice(at + 32), String(ttl)];
  });
  const batch = 2_000;
  const calls: Promise<unknown>[] = [];
  for (let start = 0; start < options.count; start += batch) {
    const phones = ethiopianMobiles(8, Math.min(batch, options.count - start), start).flatMap(
      (e164) => [
        String(nowMs - Math.floor(Math.random() * 600_000)),
        hasher.hash('phone', e164).slice(0, 32),
      ],
    );
    calls.push(redis.eval(SEED_SCRIPT, 0, String(layers.length), ...layerArguments, ...phones));
    // A few calls in flight keep Redis busy without queueing the whole seed in memory.
    if (calls.length >= 4) await calls.shift();
  }
  await Promise.all(calls);
  return options.count * layers.length;
}

/**
 * One phone far over its limits: `hits` registration sends in the last 10 minutes in its phone
 * and purpose windows, and a cooldown at step `hits`, so the phone layers refuse it for the whole
 * window whatever the timing of the run.
 */
export async function seedOverLimitPhone(
  redis: Redis,
  options: {
    keyPrefix: string;
    e164: string;
    hits: number;
    config: SmsLimitsConfig;
    hasher: Hasher;
    nowMs: number;
  },
): Promise<void> {
  const { keyPrefix, e164, hits, config, hasher, nowMs } = options;
  const rules = sendRules(
    {
      phoneHash: hasher.hash('phone', e164),
      prefixHash: hasher.hash('phone-prefix', phonePrefix(e164)),
      country: 'ET',
      purpose: 'registration',
      ipHash: hasher.hashClient('127.0.0.1'),
    },
    config,
  ).filter((rule) => ['phone', 'purpose', 'cooldown'].includes(rule.layer));
  const pipeline = redis.pipeline();
  for (const rule of rules) {
    const key = `${keyPrefix}{rl}:${rule.key}`;
    if (rule.type === 'cooldown') {
      pipeline.hset(key, 'step', hits, 'last', nowMs);
      pipeline.pexpireat(key, nowMs + rule.resetAfterMs);
    } else if (rule.type === 'window') {
      for (let hit = 0; hit < hits; hit += 1) {
        const at = nowMs - Math.floor(((hit + 1) * 600_000) / hits);
        pipeline.zadd(key, at, `${at}-${hit}`);
      }
      pipeline.pexpireat(key, nowMs + rule.windowMs);
    }
  }
  await pipeline.exec();
}

/** Deletes every key under `prefix` (SCAN + UNLINK), e.g. a run's whole key space. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5_000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}
