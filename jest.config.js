/**
 * Two projects: `unit` (specs beside sources, no I/O) and `e2e` (HTTP through the real app on
 * real PostgreSQL and Redis, one cloned database per test file). NestJS 12 ships ESM only, so its
 * packages are transformed to CommonJS by SWC like our own TypeScript.
 */
const swc = (ignoreDynamic) => [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    // Our code keeps import() (PGlite is ESM with WebAssembly; Jest runs with VM modules);
    // NestJS' optional-package import()s become require()s Jest can resolve.
    module: { type: 'commonjs', ignoreDynamic },
  },
];

const shared = {
  transform: {
    '/node_modules/.+\\.js$': swc(false),
    '^.+\\.(t|j)s$': swc(true),
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|file-type|strtok3|token-types|uint8array-extras|@tokenizer|content-disposition)/)',
  ],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
};

module.exports = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: [
        '<rootDir>/test/**/*.e2e-spec.ts',
        '<rootDir>/test/repositories/**/*.repository-spec.ts',
      ],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  // A run-wide option: Jest ignores it inside a project. e2e files boot apps and databases.
  testTimeout: 30_000,
};
