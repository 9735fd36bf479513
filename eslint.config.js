// Lint rules, including the layering of ARCHITECTURE.md: imports point down, master and agent
// meet only in src/api, and cores (base, api, resources, allocator, master/core, agent/core) do no I/O and
// read no ambient time or randomness.
import tseslint from 'typescript-eslint';

const ambientTime = [
  { object: 'Date', property: 'now', message: 'Cores take time from an injected Clock.' },
  { object: 'Math', property: 'random', message: 'Cores take randomness from base/prng.ts.' },
  { object: 'performance', property: 'now', message: 'Cores take time from an injected Clock.' },
];
const ambientGlobals = ['setTimeout', 'setInterval', 'setImmediate', 'process'].map((name) => ({
  name,
  message: 'Cores do no I/O and own no timers: return an effect and let the shell carry it out.',
}));
const noNodeModules = { group: ['node:*'], message: 'Cores do no I/O: no node:* modules here.' };

/**
 * Forbids imports of the given src/ layers from a layer below them; `allowed` names files of a
 * forbidden layer that may be imported all the same (`{ executor: ['checks/index.js'] }`).
 */
function layer(files, forbidden, extra = [], allowed = {}) {
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...forbidden.map((dir) => ({
              ...(allowed[dir] === undefined
                ? { group: [`**/${dir}/**`] }
                : { regex: `(^|/)${escape(dir)}/(?!(${allowed[dir].map(escape).join('|')})$)` }),
              message: `ARCHITECTURE.md: this layer must not import from src/${dir}.`,
            })),
            ...extra,
          ],
        },
      ],
    },
  };
}

// The checks library (src/executor/checks) sits below the agent, which runs health checks for
// command tasks: the agent's shell imports its entry, the agent's core only its pure entry.
const checksEntry = { executor: ['checks/index.js'] };
const checksCoreEntry = { executor: ['checks/core.js'] };
const checksPure = ['policy', 'results', 'schedule', 'health', 'check', 'driver', 'core'].map((f) => `src/executor/checks/${f}.ts`);

const above = {
  base: ['http', 'io', 'etcd', 'api', 'resources', 'allocator', 'master', 'agent', 'containerizer', 'executor', 'cli', 'main', 'sim'],
  api: ['http', 'io', 'etcd', 'resources', 'allocator', 'master', 'agent', 'containerizer', 'executor', 'cli', 'main', 'sim'],
  resources: ['http', 'io', 'etcd', 'allocator', 'master', 'agent', 'containerizer', 'executor', 'cli', 'main', 'sim'],
  allocator: ['http', 'io', 'etcd', 'master', 'agent', 'containerizer', 'executor', 'cli', 'main', 'sim'],
  containerizer: ['master', 'agent', 'executor', 'cli', 'main', 'sim'],
  master: ['agent', 'containerizer', 'executor', 'cli', 'main', 'sim'],
  agent: ['master', 'allocator', 'executor', 'cli', 'main', 'sim'],
  cli: ['master', 'agent', 'allocator', 'containerizer', 'executor'],
  // etcd (a shell helper beside http and io, decision 0009): masters, agents and the CLI use it.
  etcd: ['http', 'io', 'resources', 'allocator', 'master', 'agent', 'containerizer', 'executor', 'cli', 'main', 'sim'],
  // The simulator drives cores only (master/core, allocator), never shells.
  sim: ['agent', 'containerizer', 'executor', 'cli', 'main', 'http', 'etcd', 'master/http', 'master/registry'],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
  layer(['src/base/**/*.ts'], above.base, [noNodeModules]),
  layer(['src/api/**/*.ts'], above.api, [noNodeModules]),
  layer(['src/resources/**/*.ts'], above.resources, [noNodeModules]),
  layer(['src/allocator/**/*.ts'], above.allocator, [noNodeModules]),
  layer(['src/containerizer/**/*.ts'], above.containerizer),
  layer(['src/master/**/*.ts'], above.master),
  layer(['src/master/core/**/*.ts'], [...above.master, 'http', 'io', 'etcd'], [noNodeModules]),
  layer(['src/agent/**/*.ts'], above.agent, [], checksEntry),
  layer(['src/agent/core/**/*.ts'], [...above.agent, 'http', 'io', 'etcd'], [noNodeModules], checksCoreEntry),
  // The default executor: a process on the v1 Executor API, beside the agent, never inside it.
  layer(['src/executor/**/*.ts'], ['io', 'etcd', 'allocator', 'master', 'agent', 'containerizer', 'cli', 'main', 'sim']),
  layer(['src/executor/checks/**/*.ts'], ['http', 'io', 'resources', 'allocator', 'master', 'agent', 'containerizer', 'cli', 'main', 'sim']),
  layer(checksPure, ['http', 'io', 'resources', 'allocator', 'master', 'agent', 'containerizer', 'cli', 'main', 'sim'], [noNodeModules]),
  layer(['src/cli/**/*.ts'], above.cli),
  layer(['src/etcd/**/*.ts'], above.etcd),
  layer(['src/sim/**/*.ts'], above.sim, [
    noNodeModules,
    { group: ['**/master/index.js', '**/master/runtime.js'], message: 'The simulator drives master/core, not the shell.' },
  ]),
  {
    files: [
      'src/base/**/*.ts',
      'src/api/**/*.ts',
      'src/resources/**/*.ts',
      'src/allocator/**/*.ts',
      'src/master/core/**/*.ts',
      'src/agent/core/**/*.ts',
      'src/sim/**/*.ts',
      ...checksPure,
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', ...ambientTime],
      'no-restricted-globals': ['error', ...ambientGlobals],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Cores take time from an injected Clock.' },
      ],
    },
  },
);
