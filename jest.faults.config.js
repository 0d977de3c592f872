/** The fault-injection suite (npm run test:faults): long, kills processes and restarts services. */
module.exports = {
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/tests/setup-env.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  roots: ['<rootDir>/tests/faults'],
  rootDir: '.',
  testMatch: ['**/*.test.ts'],
  testTimeout: 900000,
};
