import { defineConfig } from "@playwright/test";

// Drives Debian's Chromium (never a downloaded browser) against a real rustfs that
// tests/global-setup.ts starts on free loopback ports.
export default defineConfig({
  testDir: "tests",
  testMatch: "*.spec.ts",
  globalSetup: "./tests/global-setup.ts",
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  outputDir: process.env.RUSTFS_CONSOLE_RESULTS ?? "test-results",
  use: {
    headless: true,
    viewport: { width: 1360, height: 860 },
    acceptDownloads: true,
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: process.env.RUSTFS_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    },
  },
});
