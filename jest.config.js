/** Unit specs live beside the code (src/, tools/); end-to-end suites live in test/. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/tools', '<rootDir>/test'],
  testRegex: '\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // Every answer from a service a suite started is checked against openapi.json.
  setupFilesAfterEnv: ['<rootDir>/test/support/contract.setup.ts'],
  globalSetup: '<rootDir>/test/support/redis.global-setup.ts',
  globalTeardown: '<rootDir>/test/support/redis.global-teardown.ts',
  testTimeout: 20000,
};
