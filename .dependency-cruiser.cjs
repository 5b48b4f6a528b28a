/**
 * The layer rules of DESIGN §5, checked by `make lint` (dependency-cruiser). Dependencies point down:
 *
 *   cmd → app → api | scheduler → store | taskqueue | handlers | notify → platform | config
 *
 * and each driver stays in its package: SQL drivers in store, ioredis in taskqueue, express in api. Type-only
 * imports count too (`tsPreCompilationDeps`), so a driver's types cannot leak either.
 */
const INTERNAL = '^internal/';
const lower = ['store', 'taskqueue', 'handlers', 'notify'];
const lowerButNotify = lower.filter((pkg) => pkg !== 'notify');

/** A rule forbidding `from` to import any internal package but `allowed` (and itself). */
function onlyImports(pkg, allowed) {
  const ok = [pkg, ...allowed].map((p) => `internal/${p}/`).join('|');
  return {
    name: `layers-${pkg}`,
    comment: `internal/${pkg} may import only ${allowed.length === 0 ? 'nothing else internal' : allowed.join(', ')}`,
    severity: 'error',
    from: { path: `^internal/${pkg}/` },
    to: { path: INTERNAL, pathNot: `^(${ok})` },
  };
}

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'no import cycles', severity: 'error', from: {}, to: { circular: true } },
    onlyImports('platform', []),
    onlyImports('config', []),
    ...lowerButNotify.map((pkg) => onlyImports(pkg, ['platform', 'config'])),
    // The notifier's channels share the outbound policy (deny list, guarded agent) with the http check.
    onlyImports('notify', ['platform', 'config', 'handlers/outbound']),
    onlyImports('api', [...lower, 'platform', 'config']),
    onlyImports('scheduler', [...lower, 'platform', 'config']),
    {
      name: 'cmd-through-app',
      comment: 'entry points build everything through internal/app (and read config, log, wait for signals)',
      severity: 'error',
      from: { path: '^cmd/' },
      to: { path: INTERNAL, pathNot: '^internal/(app|config|platform)/' },
    },
    {
      name: 'sql-only-in-store',
      comment: 'only internal/store talks SQL',
      severity: 'error',
      from: { path: '^(internal|cmd)/', pathNot: '^internal/store/' },
      to: { path: 'node_modules/(kysely|mysql2|better-sqlite3)/' },
    },
    {
      name: 'redis-only-in-taskqueue',
      comment: 'only internal/taskqueue talks to Redis, and ioredis types never leave it',
      severity: 'error',
      from: { path: '^(internal|cmd)/', pathNot: '^internal/taskqueue/' },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'express-only-in-api',
      comment: 'only internal/api uses express',
      severity: 'error',
      from: { path: '^(internal|cmd)/', pathNot: '^internal/api/' },
      to: { path: 'node_modules/express/' },
    },
    {
      name: 'web-only-public-api',
      comment: 'the dashboard talks to the server only through the public HTTP API',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^(internal|cmd)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
