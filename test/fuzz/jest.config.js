/**
 * `npm run test:fuzz`: property-based fuzzing of every route and webhook against the real app, database and
 * sandbox emulators (issue 8). Not part of `npm test`: it runs on its own, sized by FUZZ_RUNS.
 */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
module.exports = {
  rootDir: '../..',
  displayName: 'fuzz',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/fuzz/**/*.fuzz-spec.ts'],
  transform: { '^.+\\.ts$': tsJest },
  setupFiles: ['reflect-metadata'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 15 * 60 * 1000,
};
