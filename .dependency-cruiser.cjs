/**
 * The architecture, as rules that fail the build (`npm run lint:arch`, part of `npm test`):
 * pure cores, modules that meet only through their contracts, a kernel without libraries.
 */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-no-framework',
      comment: 'domain/ and application/ use no library and no Node API: frameworks are bound from outside.',
      severity: 'error',
      from: { path: '^src/modules/[^/]+/(domain|application)/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown', 'core'] },
    },
    {
      name: 'core-imports-no-adapter',
      comment: 'The core depends on ports; adapters and bootstrap depend on the core, never the reverse.',
      severity: 'error',
      from: { path: '^src/modules/[^/]+/(domain|application)/' },
      to: { path: '^src/(adapters|bootstrap)/|^src/modules/[^/]+/(http|messaging)/|\\.module\\.ts$' },
    },
    {
      name: 'domain-imports-no-application',
      severity: 'error',
      from: { path: '^src/modules/[^/]+/domain/' },
      to: { path: '^src/modules/[^/]+/application/' },
    },
    {
      name: 'kernel-imports-no-library',
      comment: 'src/shared is the kernel every layer may use: it must stay free of libraries and of the layers.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: {
        pathNot: '^src/shared/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'modules-meet-through-contracts',
      comment: "A module may use another module only through that module's contract.ts.",
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/([^/]+)/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/contract\\.ts$'] },
    },
    {
      name: 'order-keeps-its-own-event-types',
      comment:
        'The order and product modules never import each other, not even contracts: each keeps its own copy of what it consumes.',
      severity: 'error',
      from: { path: '^src/modules/(order|product)/' },
      to: { path: '^src/modules/(order|product)/contract\\.ts$', pathNot: '^src/modules/$1/' },
    },
    {
      name: 'bootstrap-is-the-top',
      comment:
        'bootstrap composes the running system; nothing it composes may reach back into it (config, roles, CLI).',
      severity: 'error',
      from: { path: '^src/(adapters|edge|modules|shared)/' },
      to: { path: '^src/bootstrap/' },
    },
    {
      name: 'adapters-implement-ports-only',
      comment: 'An adapter implements a port; it never reaches into the modules past their ports and contracts.',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/modules/[^/]+/(http|messaging)/|\\.module\\.ts$' },
    },
    {
      name: 'adapters-stay-off-the-edge',
      comment: 'Adapters implement ports; the HTTP edge is a driving side that uses them, never the reverse.',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/edge/' },
    },
    {
      name: 'modules-do-not-know-the-gateway',
      comment: 'The gateway is edge plumbing in front of the services; no module depends on it.',
      severity: 'error',
      from: { path: '^src/(modules|adapters|shared)/' },
      to: { path: '^src/edge/gateway/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
