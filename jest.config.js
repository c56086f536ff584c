/** Jest runs the TypeScript tests through ts-jest; each file gets its own process-level tfjs state. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testTimeout: 120000,
  maxWorkers: 2,
  setupFiles: ['<rootDir>/test/helpers/quietBanner.ts'], // tfjs's cpu-backend notice, silenced as selectBackend does
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', diagnostics: { warnOnly: false } }] },
};
