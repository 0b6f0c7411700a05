/**
 * `npm test` runs the suite in two passes (package.json): every file but RUN_ALONE on two workers, then RUN_ALONE on
 * one. Those read the machine's whole process table (the Celery health checks look for any `celery worker` process,
 * and other test files start such processes) or time sub-second deadlines, so they must not share the machine with
 * other test files. Without DIFY_EDGE_TEST_PASS (e.g. `npx jest some.test.ts`) every file is eligible.
 */
const RUN_ALONE = ['test/containers/celery-health-check.test.ts', 'test/bench/bench-cli.test.ts'];
const pass = process.env.DIFY_EDGE_TEST_PASS;
if (pass !== undefined && pass !== 'shared' && pass !== 'alone') {
  throw new Error(`DIFY_EDGE_TEST_PASS must be "shared" or "alone", got "${pass}"`);
}

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: pass === 'alone' ? RUN_ALONE.map((file) => `<rootDir>/${file}`) : ['**/*.test.ts'],
  testPathIgnorePatterns: [
    '/node_modules/',
    ...(pass === 'shared' ? RUN_ALONE.map((file) => `<rootDir>/${file.replace(/\./g, '\\.')}$`) : []),
  ],
  transform: {
    // Transpile only (types are checked once by `npm run typecheck`), which keeps the suite fast.
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.jest.json' }],
  },
  testTimeout: 60000,
};
