/** Unit and integration tests (npm test). The fault-injection suite has its own config. */
module.exports = {
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/tests/setup-env.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  // the results are in once the suites end: a socket some driver leaves half-closed has kept node's own
  // shutdown spinning (seen once, after every fault case had passed), and CI would wait for it
  forceExit: true,
  testPathIgnorePatterns: ['/node_modules/', '/tests/faults/'],
  testTimeout: 180000,
};
