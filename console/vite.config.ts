import { defineConfig } from "vite";

// The bundle is committed (console/dist) and embedded in the rustfs binary by
// crates/console; CI rebuilds it and fails on a difference, so the output must be
// reproducible: content-hashed names, no timestamps, no source maps with absolute paths.
export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    assetsDir: "assets",
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev`: proxy the API to a running console port (RUSTFS_CONSOLE_URL).
    proxy: {
      "/api": process.env.RUSTFS_CONSOLE_URL ?? "http://127.0.0.1:9001",
    },
  },
});
