// The console is built to plain files that frontend.http serves at <prefix>/ui/. base './'
// keeps every asset URL relative, so the same build works under any path prefix.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const target = process.env.AIMASS_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "./",
  resolve: {
    alias: {
      // The TypeScript client's sources, bundled in (no separate build of clients/typescript).
      "@aimass/client": fileURLToPath(new URL("../clients/typescript/src/index.ts", import.meta.url)),
    },
  },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    target: "es2020",
    // No inline scripts or data: modules: the server's CSP allows only script-src 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  // `npm run dev`: the console at http://localhost:5173/ui/, the API proxied to AIMASS_URL.
  server: {
    proxy: { "/api": target, "/v2": target },
  },
});
