import { defineConfig } from 'vitest/config';

/** `make soak`: the long chaos run, kept out of `make test`. SOAK_SECONDS sets how long the chaos lasts. */
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
