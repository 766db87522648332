// Every page renders under the console's Content-Security-Policy with no error in the
// browser's console (a blocked script, style or connection shows up there). Answers such as
// 404 NoSuchBucketPolicy are expected ("Failed to load resource"): pages ask for settings a
// bucket may not have.

import { expect, test } from "@playwright/test";
import { serverInfo } from "./env";
import { loginAsRoot } from "./helpers";

const ROUTES = ["/buckets", "/browse", "/identity/users", "/identity/groups", "/identity/policies", "/identity/keys", "/status"];

test("every page loads without a console error or a CSP violation", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  await loginAsRoot(page);
  for (const r of ROUTES) {
    await page.goto(serverInfo().consoleUrl + "/#" + r);
    await expect(page.locator("main h1").first()).toBeVisible();
    await page.waitForLoadState("networkidle");
  }
  expect(problems.filter((p) => /Content Security Policy|Refused to/i.test(p))).toEqual([]);
  expect(problems).toEqual([]);
});
