/** Jest runs the TypeScript tests through ts-jest; each file gets its own process-level tfjs state. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testTimeout: 120000,
  maxWorkers: 2,
  // tfjs's cpu-backend notice silenced as selectBackend does; then every kernel registered, as the package entry does
  setupFiles: ['<rootDir>/test/helpers/quietBanner.ts', '<rootDir>/test/setup/registerKernels.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', diagnostics: { warnOnly: false } }] },
};
