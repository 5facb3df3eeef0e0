/** Raised at boot when the environment is invalid; main.ts prints it and exits non-zero. */
export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n` +
        'See .env.example for every variable, its default and its meaning.',
    );
    this.name = 'ConfigurationError';
  }
}
