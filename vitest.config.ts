import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['internal/**/*.test.ts', 'cmd/**/*.test.ts', 'test/**/*.test.ts', 'web/**/*.test.ts'],
    // Redis Cluster and Sentinel tests need servers of their own: `make test-ha` (vitest.ha.config.ts).
    exclude: [...configDefaults.exclude, 'test/ha/**'],
    // Integration files start servers and child processes; each has its own database and key prefix, so they
    // run in parallel, in separate processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
