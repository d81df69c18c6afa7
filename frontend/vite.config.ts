import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    // @lifeline/core is a workspace package consumed as TypeScript source.
    fs: { allow: ['../core'] },
    proxy: { '/api': process.env.LIFELINE_API ?? 'http://127.0.0.1:3000' },
  },
});
