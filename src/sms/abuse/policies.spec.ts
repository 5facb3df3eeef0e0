import { loadConfiguration } from '../../config/load-configuration';
import { HTTP_LAYER } from '../../rate-limit/deferred-http-rule';
import {
  CLIENT_LAYERS,
  codeCheckRules,
  codeGuessRules,
  passwordRules,
  sendRules,
} from './policies';

/** Hashes no other part of a key can contain by chance. */
const CLIENT = 'c'.repeat(64);
const subject = {
  phoneHash: 'a'.repeat(64),
  prefixHash: 'b'.repeat(64),
  country: 'ET',
  purpose: 'login' as const,
  ipHash: CLIENT,
};
const guess = { phoneHash: subject.phoneHash, clientHash: CLIENT };
const config = loadConfiguration({}).smsLimits;
/** The policies a route consumes, and so reports RateLimit-* from. */
const policies = [
  sendRules(subject, config),
  codeCheckRules(CLIENT, config),
  passwordRules(guess, { limit: 10, ceiling: 100, ipLimit: 100, windowMs: 60_000 }),
];
/** Counted after the route's own (a code guess), reporting nothing. */
const guessRules = codeGuessRules(guess, config);

/** A key made of the client's hash and nothing about the number, its range, country or purpose. */
const keyedOnClient = (key: string) =>
  key.includes(CLIENT.slice(0, 32)) && !/a{32}|b{32}|ET|login/.test(key);

describe('CLIENT_LAYERS', () => {
  it('holds exactly the layers keyed on the client alone, so no other count reaches a client', () => {
    const rules = [...policies.flat(), ...guessRules];
    const clientLayers = rules.filter((rule) => keyedOnClient(rule.key)).map((rule) => rule.layer);
    // The per-route HTTP rule is keyed on the route and the client (HttpThrottlerGuard).
    expect([...CLIENT_LAYERS].sort()).toEqual([...clientLayers, HTTP_LAYER].sort());
    for (const rule of rules.filter((candidate) => !keyedOnClient(candidate.key))) {
      expect(CLIENT_LAYERS.has(rule.layer)).toBe(false);
    }
  });

  it('has a layer in every policy, so every accepted request can report the client its quota', () => {
    for (const rules of policies) {
      expect(rules.some((rule) => CLIENT_LAYERS.has(rule.layer))).toBe(true);
    }
  });
});
