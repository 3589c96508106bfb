import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.lab/', '.lab-*/', 'test/lab/components/', '**/*.gen.ts'] },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    // bin/, bench/ and the configs are plain JavaScript run by Node.
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly', console: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
