import { defineConfig } from 'vitest/config';

// Resolve packages as Node does at run time. Vite's default adds the `development`
// condition, which gives graphql's __dev__ build to our code while graphql-yoga (loaded by
// Node) gets the normal one: two GraphQLError classes, and our errors would be masked.
const nodeConditions = ['module-sync', 'node'];

export default defineConfig({
  ssr: { resolve: { conditions: nodeConditions } },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Each test file runs in its own process: Temporal's native runtime and workers are per process.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
