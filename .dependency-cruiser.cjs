/**
 * The directions imports may take (README, "Architecture"), checked by `npm run lint` in CI:
 *   src/core   pure: segments, rules, retry policy, durations, workflow messages, search-attribute
 *              names, field errors. Imports nothing else of the project and no Node built-in.
 *   workflows/ deterministic: only src/core, and the *type* of the activities.
 *   src/infra  databases, Temporal's processes, HTTP helpers, metrics: imports no module and no layer above it.
 *   src/modules domains: entities, services, their GraphQL types (*.graphql.ts) and routes (*.routes.ts);
 *              a service, entity or rule never imports the GraphQL layer, the server or the worker.
 * And no import circle anywhere.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle: the layers no longer read one way.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'src/core imports only src/core (and npm packages), never I/O.',
      from: { path: '^src/core/' },
      to: { pathNot: ['^src/core/', '^node_modules/'] },
    },
    {
      name: 'core-has-no-io',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'workflows-are-deterministic',
      severity: 'error',
      // activities.ts is imported with `import type` only (proxyActivities<typeof …>): the workflow
      // bundler would refuse its Node code otherwise. (dependency-cruiser reads TypeScript with swc
      // here, which does not mark type-only imports, so the file is named.)
      // @opentelemetry/api: the trace context a message carried (a no-op unless tracing's interceptors are bundled).
      comment: 'Workflow code imports the pure core, its own files, the Temporal workflow SDK and the OpenTelemetry API; activities only as a type.',
      from: { path: '^workflows/' },
      to: {
        pathNot: [
          '^src/core/',
          '^workflows/',
          '^node_modules/@temporalio/(workflow|common)/',
          '^node_modules/@opentelemetry/api/',
          '^src/temporal/activities\\.ts$',
        ],
      },
    },
    {
      name: 'workflows-use-no-node',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'infra-imports-no-domain',
      severity: 'error',
      comment: 'Infrastructure is handed what it needs (the entity list, callbacks); it imports no module and no layer above it.',
      from: { path: '^src/infra/' },
      to: { path: ['^src/modules/', '^src/graphql/', '^src/temporal/', '^src/server\\.ts$', '^src/runtime\\.ts$'] },
    },
    {
      name: 'domain-imports-no-api-layer',
      severity: 'error',
      comment:
        "A module's services, entities and rules do not import the GraphQL layer, the server or the worker (its *.graphql.ts and *.routes.ts files are that layer).",
      from: { path: '^src/modules/', pathNot: ['\\.graphql\\.ts$', '\\.routes\\.ts$', '^src/modules/ingest/hook-routes\\.ts$'] },
      to: { path: ['^src/graphql/', '^src/temporal/', '^src/server\\.ts$', '^src/runtime\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    // TypeScript 7 has no compiler API yet; swc (already installed for Temporal's bundler) parses.
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
