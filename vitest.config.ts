import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (src/**/*.test.ts); end-to-end tests in test/ start real
// processes on loopback. Files run in parallel; each test keeps itself fast.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
