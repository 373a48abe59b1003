// Vitest: the JS suites under tests/js/ and the end-to-end suites under
// tests/e2e/ (playwright-core driving Debian's chromium on the built page).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/js/**/*.test.{js,mjs}", "tests/e2e/**/*.test.{js,mjs}"],
    testTimeout: 300_000,
  },
});
