import { expect, test } from "@playwright/test";
import { serverInfo } from "./env";
import { loginAsRoot, screenshot } from "./helpers";

test("a wrong secret is refused", async ({ page }) => {
  const s = serverInfo();
  await page.goto(s.consoleUrl + "/");
  await screenshot(page, "01-login");
  await page.getByLabel("Access key").fill(s.accessKey);
  await page.getByLabel("Secret key").fill("not-the-secret");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText(/wrong access key or secret/i);
  await screenshot(page, "02-login-refused");
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
});

test("log in with the root key, keep only temporary credentials, log out", async ({ page }) => {
  const s = serverInfo();
  await loginAsRoot(page);
  const stored = await page.evaluate(() => JSON.stringify(Object.fromEntries(Object.entries(sessionStorage))));
  expect(stored).not.toContain(s.secretKey);
  expect(stored).toContain("sessionToken");
  await screenshot(page, "03-after-login");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByLabel("Access key")).toBeVisible();
});
