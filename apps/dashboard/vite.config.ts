import { defineConfig } from 'vite';

// Served by the coordinator at /dashboard/ (apps/dashboard/dist); in development Vite's dev
// server proxies /socket.io and /api to a local coordinator.
export default defineConfig({
  root: __dirname,
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: {
    proxy: {
      '/socket.io': { target: 'http://127.0.0.1:8080', ws: true },
      '/api': 'http://127.0.0.1:8080',
    },
  },
});
