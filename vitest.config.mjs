// Vitest: the JS suites under tests/js/ (tests/e2e/ is Playwright's).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/js/**/*.test.{js,mjs}"],
    testTimeout: 300_000,
  },
});
