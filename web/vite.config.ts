/// <reference types="vitest/config" />
import { fileURLToPath, URL } from "node:url";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// `npm run dev` serves the app on :5173 and forwards the gateway's paths to a
// running `make up`, presenting the gateway's own origin, which it allows for
// cookie-authenticated calls.
const gateway = "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  server: {
    proxy: {
      "^/neutone\\.v1\\.": { target: gateway, headers: { origin: gateway } },
      "/media": gateway,
    },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  // Component tests: a DOM without a browser, one file per feature beside its code.
  test: {
    environment: "happy-dom",
    setupFiles: ["./src/testing/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
