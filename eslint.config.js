// @ts-check
import tseslint from 'typescript-eslint';

/** What pure packages (core algorithms, wire contracts) must never touch. */
const IO_MODULES = [
  'node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'worker_threads', 'net', 'http', 'https', 'crypto', 'zlib', 'stream',
  'socket.io', 'socket.io-client', 'socket.io-*', 'fastify', 'fastify/*', '@fastify/*', 'better-sqlite3',
];
const DOM_AND_NODE_GLOBALS = [
  'window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'indexedDB', 'location', 'self',
  'process', 'Buffer', 'require', '__dirname', '__filename', 'global',
].map((name) => ({ name, message: 'fedtsa-core and protocol are environment-free: inject what you need.' }));

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'results/**', 'scratch/**', '**/*.mjs', 'test-results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['packages/fedtsa-core/src/**/*.ts', 'packages/protocol/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: IO_MODULES, message: 'No I/O, sockets or servers in pure packages.' }] }],
      'no-restricted-globals': ['error', ...DOM_AND_NODE_GLOBALS],
    },
  },
);
