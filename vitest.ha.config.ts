import { defineConfig } from 'vitest/config';

/**
 * `make test-ha`: Vigil on a Redis Cluster and behind Sentinel (scripts/test-services.sh ha starts both). The files
 * share those servers and kill their masters, so they run one after the other.
 */
export default defineConfig({
  test: {
    include: ['test/ha/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
