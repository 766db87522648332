// The buckets pages: create with versioning and with object lock, the bucket policy editor
// (a valid policy saved and read back, invalid JSON and a policy the server refuses shown),
// lifecycle rules added and read back, delete.
import { test, expect, type Page } from "@playwright/test";
import { go, login, s3Root, shot, shotView, unique } from "./pages-helpers";

async function createBucket(page: Page, name: string, opts: { versioning?: boolean; lock?: boolean; mode?: string; days?: string } = {}) {
  await go(page, "/#/buckets");
  await page.getByTestId("buckets-create").click();
  await page.getByTestId("bucket-name").fill(name);
  if (opts.versioning) await page.getByTestId("bucket-versioning").check();
  if (opts.lock) await page.getByTestId("bucket-object-lock").check();
  if (opts.mode) await page.getByTestId("bucket-retention-mode").selectOption(opts.mode);
  if (opts.days) await page.getByTestId("bucket-retention-days").fill(opts.days);
  await page.getByTestId("bucket-create-submit").click();
  await expect(page.getByTestId(`bucket-row-${name}`)).toBeVisible();
}

test("buckets: create with versioning and with object lock, suspend refused for a lock bucket", async ({ page }) => {
  await login(page);
  const versioned = unique("ver");
  const locked = unique("lock");
  await createBucket(page, versioned, { versioning: true });
  await expect(page.getByTestId(`bucket-row-${versioned}`)).toContainText("Enabled");
  await page.getByTestId("buckets-create").click();
  await page.getByTestId("bucket-object-lock").check();
  await expect(page.getByTestId("bucket-versioning")).toBeChecked();
  await page.getByTestId("bucket-retention-mode").selectOption("GOVERNANCE");
  await shotView(page, "buckets-create-dialog");
  await page.keyboard.press("Escape");
  await createBucket(page, locked, { lock: true, mode: "GOVERNANCE", days: "7" });
  const row = page.getByTestId(`bucket-row-${locked}`);
  await expect(row).toContainText("Enabled");
  await expect(row).toContainText("locked");
  await shot(page, "buckets-list");

  await page.getByTestId(`bucket-settings-${locked}`).click();
  await expect(page.getByTestId("lock-state")).toContainText("GOVERNANCE");
  await expect(page.getByTestId("lock-state")).toContainText("7 day");
  await page.getByTestId("versioning-suspend").click();
  await expect(page.getByTestId("versioning-error")).toContainText("InvalidBucketState");
  await expect(page.getByTestId("settings-versioning-state")).toHaveText("Enabled");
  // Change the default retention and read it back.
  await page.getByTestId("lock-mode").selectOption("COMPLIANCE");
  await page.getByTestId("lock-days").fill("3");
  await page.getByTestId("lock-save").click();
  await expect(page.getByTestId("lock-state")).toContainText("COMPLIANCE");
  await expect(page.getByTestId("lock-state")).toContainText("3 day");
  await shot(page, "bucket-settings-object-lock");
});

test("buckets: policy editor validates, saves, reads back and deletes", async ({ page }) => {
  await login(page);
  const b = unique("pol");
  await createBucket(page, b);
  await go(page, `/#/buckets/${b}`);
  const editor = page.getByTestId("policy-text");
  // Invalid JSON: refused before sending, with its line and column.
  await editor.fill('{\n  "Version": "2012-10-17",\n  "Statement": [\n    { "Effect": "Allow" oops }\n  ]\n}');
  await page.getByTestId("policy-save").click();
  await expect(page.getByTestId("policy-error")).toContainText(/line 4, column \d+/);
  await shot(page, "bucket-policy-invalid-json");
  // Valid JSON the server refuses: its MalformedPolicy message is shown.
  await editor.fill(JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::some-other-bucket/*" }] }, null, 2));
  await page.getByTestId("policy-save").click();
  await expect(page.getByTestId("policy-error")).toContainText("MalformedPolicy");
  await shot(page, "bucket-policy-refused");
  // The public read-only template: saved and read back after a reload.
  await page.getByTestId("policy-template-public-read").click();
  await page.getByTestId("policy-save").click();
  await expect(page.getByTestId("policy-saved")).toBeVisible();
  await page.reload();
  await expect(page.getByTestId("policy-state")).toContainText("has a policy");
  await expect(page.getByTestId("policy-text")).toHaveValue(/PublicRead/);
  await expect(page.getByTestId("policy-text")).toHaveValue(new RegExp(`arn:aws:s3:::${b}/\\*`));
  await shot(page, "bucket-settings-policy");
  await page.getByTestId("policy-delete").click();
  await page.getByTestId("confirm-yes").click();
  await expect(page.getByTestId("policy-saved")).toContainText("removed");
  await page.reload();
  await expect(page.getByTestId("policy-state")).toContainText("No policy");
  await expect(page.getByTestId("policy-text")).toHaveValue("");
});

test("buckets: lifecycle rules are added, edited, read back and deleted", async ({ page }) => {
  await login(page);
  const b = unique("lc");
  await createBucket(page, b, { versioning: true });
  await go(page, `/#/buckets/${b}`);
  await page.getByTestId("lifecycle-add").click();
  await page.getByTestId("lifecycle-id").fill("expire-logs");
  await page.getByTestId("lifecycle-prefix").fill("logs/");
  await page.getByTestId("lifecycle-expiration").fill("30");
  await page.getByTestId("lifecycle-noncurrent").fill("7");
  await page.getByTestId("lifecycle-abort").fill("2");
  await shotView(page, "bucket-lifecycle-dialog");
  await page.getByTestId("lifecycle-save").click();
  await expect(page.getByTestId("lifecycle-dialog")).toHaveCount(0);
  const row = page.getByTestId("lifecycle-row-expire-logs");
  await expect(row).toContainText("logs/");
  await page.reload();
  await expect(row).toContainText("logs/");
  await expect(row).toContainText("30 days");
  await expect(row).toContainText("7 days");
  await expect(row).toContainText("2 days");
  await expect(row).toContainText("Enabled");
  await page.getByTestId("lifecycle-edit-expire-logs").click();
  await page.getByTestId("lifecycle-expiration").fill("45");
  await page.getByTestId("lifecycle-enabled").uncheck();
  await page.getByTestId("lifecycle-save").click();
  // The dialog closes once the configuration is saved.
  await expect(page.getByTestId("lifecycle-dialog")).toHaveCount(0);
  await expect(row).toContainText("Disabled");
  await page.reload();
  await expect(row).toContainText("45 days");
  await expect(row).toContainText("Disabled");
  await shot(page, "bucket-settings-lifecycle");
  await page.getByTestId("lifecycle-delete-expire-logs").click();
  await page.getByTestId("confirm-yes").click();
  await expect(row).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId("lifecycle-table")).toContainText("No lifecycle rules");
});

test("buckets: delete asks first, refuses a bucket with objects clearly, removes an empty one", async ({ page }) => {
  await login(page);
  const b = unique("del");
  await createBucket(page, b);
  await s3Root("PUT", `/${b}/file.txt`, "x");
  await page.getByTestId(`bucket-delete-${b}`).click();
  await page.getByTestId("confirm-yes").click();
  await expect(page.getByTestId("confirm-error")).toContainText("is not empty");
  await shotView(page, "buckets-delete-not-empty");
  await page.keyboard.press("Escape");
  await s3Root("DELETE", `/${b}/file.txt`);
  await page.getByTestId(`bucket-delete-${b}`).click();
  await expect(page.getByTestId("confirm-dialog")).toContainText(b);
  await page.getByTestId("confirm-yes").click();
  await expect(page.getByTestId(`bucket-row-${b}`)).toHaveCount(0);
  await expect(page.getByTestId("buckets-flash")).toContainText("deleted");
});
