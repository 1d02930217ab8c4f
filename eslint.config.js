// Flat config shared by every workspace package; each package runs `eslint src`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/fixtures/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly',
        setImmediate: 'readonly', queueMicrotask: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        AbortController: 'readonly', AbortSignal: 'readonly', WebAssembly: 'readonly', structuredClone: 'readonly',
        SharedArrayBuffer: 'readonly', Atomics: 'readonly', performance: 'readonly', fetch: 'readonly',
      },
    },
    rules: {
      // Named exports only: `src/index.ts` is a list of named re-exports.
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports; default exports are not allowed.' },
        { selector: 'ExportSpecifier[exported.name="default"]', message: 'Use named exports; default exports are not allowed.' },
      ],
      // A package is reached only through its published name and entry point.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^@spinel/[^/]+/(src|dist)(/|$)', message: "Import another package by its name, not from its src/ or dist/." },
            { regex: '^(\\.\\./)+(packages|apps|tooling)/', message: 'Do not reach into another workspace package by relative path; import it by name.' },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
);
