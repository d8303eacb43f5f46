/**
 * Two tiers: `unit` (pure logic and single emulators, colocated *.spec.ts; test/contract/ for production
 * code against an emulator) and `e2e` (the real HTTP server, the real
 * database and the sandbox emulators). Without DATABASE_URL the e2e tier starts one embedded
 * PostgreSQL for the whole run (test/global-setup.ts).
 */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: [
        '<rootDir>/src/**/*.spec.ts',
        '<rootDir>/sandbox/**/*.spec.ts',
        // production code against an emulator: the one place that imports both
        '<rootDir>/test/contract/**/*.spec.ts',
        '<rootDir>/bench/**/*.spec.ts',
      ],
      transform: { '^.+\\.ts$': tsJest },
      setupFiles: ['reflect-metadata'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
      setupFiles: ['reflect-metadata'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
    },
  ],
  // e2e files share one database server; running them one at a time keeps PGlite's single session sane
  maxWorkers: 1,
  testTimeout: 60000,
};
