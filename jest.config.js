/** Unit and integration tests (npm test). The fault-injection suite has its own config. */
module.exports = {
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/tests/setup-env.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/tests/faults/'],
  testTimeout: 180000,
};
