/**
 * The module boundaries docs/ARCHITECTURE.md describes, checked by `npm run lint`
 * (dependency-cruiser). Paths are from the project's root.
 */
const FEATURES =
  '^src/(phone|sms|auth|rate-limit|analytics|metrics|retention|dashboard|operator|health)/';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Modules and files depend on each other one way.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'foundation-imports-no-feature',
      comment: 'common/, database/, redis/ and logging/ sit below every feature module.',
      severity: 'error',
      from: { path: '^src/(common|database|redis|logging)/' },
      to: { path: FEATURES },
    },
    {
      name: 'metrics-imports-no-feature',
      comment:
        'metrics/ holds the registry and /metrics; each module defines its own metrics in it ' +
        '(MetricsRegistry), so imports go from the features to metrics/. operator/ is allowed: ' +
        'the /metrics route wears the operator guard.',
      severity: 'error',
      from: { path: '^src/metrics/' },
      to: { path: '^src/(phone|sms|auth|rate-limit|analytics|retention|dashboard|health)/' },
    },
    {
      name: 'limiter-engine-knows-no-sms-or-auth',
      comment: 'The generic limiter (stores, rules, throttler) serves any route.',
      severity: 'error',
      from: { path: '^src/rate-limit/' },
      to: { path: '^src/(sms|auth)/' },
    },
    {
      name: 'nothing-imports-analytics-but-the-root',
      comment:
        'Analytics listen to the other modules and call into them (delivery tracking tells ' +
        'sms/abuse/ of failed deliveries); no module depends on analytics but the configuration ' +
        'and the composition root.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(analytics|config)/|^src/[^/]+\\.ts$' },
      to: { path: '^src/analytics/' },
    },
    {
      name: 'retention-imports-no-feature',
      comment:
        'Each module registers the purges of its own tables (retention/retention-purges.ts): ' +
        'retention keeps the schedule, the lock and the batches, and knows no feature.',
      severity: 'error',
      from: { path: '^src/retention/' },
      to: { path: '^src/(phone|sms|auth|rate-limit|analytics|metrics|dashboard|operator|health)/' },
    },
    {
      name: 'only-the-twilio-adapter-imports-twilio',
      comment: 'Twilio is one adapter: its SDK stays behind sms/providers/twilio/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/sms/providers/twilio/' },
      to: { path: 'node_modules/twilio/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
