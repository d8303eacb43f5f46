/**
 * The crash-point fault suite (`npm run test:faults`, test/faults/): the built app and the standalone
 * emulators as child processes on DATABASE_URL; not part of `npm test`.
 */
module.exports = {
  displayName: 'faults',
  testEnvironment: 'node',
  rootDir: '.',
  testMatch: ['<rootDir>/test/faults/**/*.faults-spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFiles: ['reflect-metadata'],
  maxWorkers: 1,
  testTimeout: 120000,
};
