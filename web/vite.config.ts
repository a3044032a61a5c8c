import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the app on :5173 and forwards the gateway's paths to a
// running `make up`, presenting the gateway's own origin, which it allows for
// cookie-authenticated calls.
const gateway = "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "^/neutone\\.v1\\.": { target: gateway, headers: { origin: gateway } },
      "/media": gateway,
    },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
});
