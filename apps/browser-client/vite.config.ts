import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The page is served by the coordinator in production (apps/browser-client/dist) and by
// Vite's dev server in development, where /socket.io and /api go to a local coordinator.
export default defineConfig({
  root: __dirname,
  base: './',
  build: {
    outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000,
    rollupOptions: { input: { main: resolve(__dirname, 'index.html'), bench: resolve(__dirname, 'bench.html') } },
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/socket.io': { target: 'http://127.0.0.1:8080', ws: true },
      '/api': 'http://127.0.0.1:8080',
    },
  },
});
