// @ts-check
// ESLint: typescript-eslint's strictest type-aware set over the app, its tests, the bench and the
// tools. Prettier owns the layout (npm run format:check), so no stylistic rules here.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      'reports/',
      '.stryker-tmp/',
      'clients/',
      'helm/',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers in log lines and messages (ports, counts, milliseconds) are the common case;
      // objects, undefined and null in a template stay errors.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // A leading underscore marks a parameter a signature needs but the body does not read.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // A Nest module is an empty class that only its @Module() decorator describes.
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
    },
  },
  {
    // One place per library: Swagger's decorators and document builder live in src/openapi/,
    // the ioredis client in src/redis/. The rest of the app depends on those modules instead.
    files: ['src/**/*.ts'],
    ignores: ['src/openapi/**', 'src/redis/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@nestjs/swagger', message: 'Swagger belongs in src/openapi/.' },
            {
              name: 'ioredis',
              message: 'The Redis client belongs in src/redis/ (use RedisConnection).',
            },
          ],
        },
      ],
    },
  },
);
