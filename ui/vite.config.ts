import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `vite dev` forwards the API to the tenant the launcher starts on 7070, so the
// page talks to the same origin exactly as it does when the tenant serves dist/.
const TENANT_ORIGIN = 'http://127.0.0.1:7070';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), tailwindcss()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: TENANT_ORIGIN, changeOrigin: false } },
  },
});
