// Lint rules for mxsec. Type-aware rules catch the mistakes that matter in a mail transfer agent:
// a floating promise loses an error (and possibly a message), a non-exhaustive switch over a result
// kind silently mis-classifies a failure. The pure policy folders may not import I/O modules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'node:net',
  'node:tls',
  'node:dns',
  'node:fs',
  'node:fs/promises',
  'node:http',
  'node:https',
  'node:dgram',
  'node:child_process',
  'net',
  'tls',
  'dns',
  'fs',
  'fs/promises',
  'http',
  'https',
  'dgram',
  'child_process',
  'better-sqlite3',
];

export default tseslint.config(
  { ignores: ['dist/**', 'lib/**', 'node_modules/**', 'data/**', '.tmp/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Pure policy code: no sockets, DNS, files or HTTP; whole folders, so a new module is covered without
    // being listed. The drivers among them (relay loop, MTA-STS refresh, TLSA lookup) reach the network
    // and the disk only through interfaces passed in.
    files: [
      'src/core/**/*.ts',
      'src/expr/**/*.ts',
      'src/policy/**/*.ts',
      'src/config/lint/**/*.ts',
      'src/dane/**/*.ts',
      'src/mtasts/**/*.ts',
      'src/smtp/protocol/**/*.ts',
      'src/server/protocol/**/*.ts',
      'src/dsn/**/*.ts',
      'src/tlsrpt/**/*.ts',
      'src/relay/**/*.ts',
    ],
    ignores: [
      '**/*.test.ts',
      // Adapters, the only modules of these folders that do I/O themselves:
      // the HTTPS GET of the policy (RFC 8461 3.3), connecting through mxsec's own resolver;
      'src/mtasts/fetch.ts',
      // the persistent policy cache: creates the data directory and opens the SQLite file.
      'src/mtasts/cache-sqlite.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({
            name,
            message: 'policy code is pure: do I/O in an adapter',
          })),
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
    },
  },
);
