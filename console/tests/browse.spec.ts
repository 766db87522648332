// The walk-through of issue 16: log in, create a bucket, upload 20 MB while the progress
// bar moves, see it listed, download it and compare the bytes, delete it; a multipart
// upload of 40 MB checked the same way; details, tags, versions, share link; a user
// with the readonly policy is refused on upload.

import { expect, test, type Page } from "@playwright/test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverInfo } from "./env";
import { login, loginAsRoot, randomFile, screenshot, sha256File } from "./helpers";
import { listUploads, putObject, readonlyUser } from "./iam";

test.describe.configure({ mode: "serial" });

const BUCKET = "console-walk";
const MB = 1000 * 1000;
let work: string;

test.beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rustfs-console-files-"));
});
test.afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Records every aria-valuenow the upload progress bars take, from now on. */
async function watchProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __progress: number[] };
    w.__progress = [];
    const seen = (el: Element) => {
      if (el.getAttribute("role") === "progressbar" && el.closest("[data-testid=upload-row]")) {
        w.__progress.push(Number(el.getAttribute("aria-valuenow")));
      }
    };
    new MutationObserver((muts) => {
      for (const m of muts) {
        if (m.type === "attributes") seen(m.target as Element);
        m.addedNodes.forEach((n) => {
          if (n instanceof Element) {
            seen(n);
            n.querySelectorAll("[role=progressbar]").forEach(seen);
          }
        });
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-valuenow"] });
  });
}

async function progressSeen(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __progress: number[] }).__progress);
}

/** Uploads go through a throttled link so the bar has time to move (CDP network emulation). */
async function throttleUploads(page: Page, bytesPerSecond: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

async function openBucket(page: Page): Promise<void> {
  await page.goto(serverInfo().consoleUrl + `/#/browse/${BUCKET}/`);
  await expect(page.getByRole("heading", { name: BUCKET })).toBeVisible();
}

async function upload(page: Page, path: string, name: string, shot?: string): Promise<number[]> {
  await watchProgress(page);
  await page.getByTestId("file-input").setInputFiles(path);
  const row = page.getByTestId("upload-row").filter({ hasText: name }).last();
  await expect(row).toBeVisible();
  if (shot) {
    // A picture of the bar on its way.
    const bar = row.getByRole("progressbar");
    await expect
      .poll(async () => Number(await bar.getAttribute("aria-valuenow")), { timeout: 60_000, intervals: [50] })
      .toBeGreaterThan(5);
    await screenshot(page, shot);
  }
  await expect(row).toHaveAttribute("data-state", "done", { timeout: 150_000 });
  return progressSeen(page);
}

async function downloadAndHash(page: Page, name: string): Promise<string> {
  const row = page.getByTestId("object-row").filter({ hasText: name });
  const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("button", { name: "Download" }).click()]);
  expect(download.suggestedFilename()).toBe(name);
  const saved = join(work, "downloaded-" + name);
  await download.saveAs(saved);
  return sha256File(saved);
}

test("1-2. log in and create a bucket (the buckets page, with versioning)", async ({ page }) => {
  await loginAsRoot(page);
  await page.goto(serverInfo().consoleUrl + "/#/buckets");
  await page.getByTestId("buckets-create").click();
  await page.getByTestId("bucket-name").fill(BUCKET);
  await page.getByTestId("bucket-versioning").check();
  await screenshot(page, "04-create-bucket");
  await page.getByTestId("bucket-create-submit").click();
  await expect(page.getByTestId(`bucket-row-${BUCKET}`)).toBeVisible();
  await screenshot(page, "05-buckets");
  await page.goto(serverInfo().consoleUrl + "/#/browse");
  await expect(page.getByRole("link", { name: new RegExp(BUCKET) })).toBeVisible();
  await screenshot(page, "05b-browse-buckets");
});

test("3-5. upload 20 MB with a moving progress bar, see it, download it equal, delete it", async ({ page }) => {
  const file = randomFile(work, "twenty.bin", 20 * MB);
  await loginAsRoot(page);
  await openBucket(page);
  await screenshot(page, "06-empty-bucket");
  await throttleUploads(page, 8 * MB);
  const seen = await upload(page, file.path, "twenty.bin", "07-upload-progress");
  expect(seen.some((v) => v > 0 && v < 100), `progress values seen: ${seen.join(",")}`).toBe(true);
  expect(seen[seen.length - 1]).toBe(100);
  const row = page.getByTestId("object-row").filter({ hasText: "twenty.bin" });
  await expect(row).toBeVisible();
  await expect(row).toContainText("19.1 MiB");
  await screenshot(page, "08-uploaded");
  expect(await downloadAndHash(page, "twenty.bin")).toBe(file.sha256);

  await row.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("dialog", { name: "Delete object" })).toBeVisible();
  await screenshot(page, "09-delete-confirm");
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByText("This bucket is empty")).toBeVisible();
});

test("multipart upload of 40 MB: parts in parallel, bytes equal", async ({ page }) => {
  const file = randomFile(work, "forty.bin", 40 * MB);
  await loginAsRoot(page);
  await openBucket(page);
  await throttleUploads(page, 16 * MB);
  const seen = await upload(page, file.path, "forty.bin", "10-multipart-progress");
  expect(seen.some((v) => v > 0 && v < 100)).toBe(true);
  await expect(page.getByTestId("upload-row").filter({ hasText: "forty.bin" })).toContainText("multipart");
  const row = page.getByTestId("object-row").filter({ hasText: "forty.bin" });
  await expect(row).toBeVisible();
  expect(await downloadAndHash(page, "forty.bin")).toBe(file.sha256);
  // A multipart ETag ends in -<parts>: 40 MB in 16 MiB parts is 3.
  await row.getByRole("button", { name: "Details" }).click();
  await expect(page.getByTestId("object-details")).toContainText("-3");
  await screenshot(page, "11-object-details");
});

test("a multipart upload cancelled midway is aborted on the server", async ({ page }) => {
  const file = randomFile(work, "cancelled.bin", 40 * MB);
  await loginAsRoot(page);
  await openBucket(page);
  await throttleUploads(page, 2 * MB);
  await page.getByTestId("file-input").setInputFiles(file.path);
  const row = page.getByTestId("upload-row").filter({ hasText: "cancelled.bin" });
  const bar = row.getByRole("progressbar");
  await expect.poll(async () => Number(await bar.getAttribute("aria-valuenow")), { timeout: 60_000, intervals: [100] }).toBeGreaterThan(0);
  await row.getByRole("button", { name: "Cancel" }).click();
  await expect(row).toHaveAttribute("data-state", "cancelled");
  await expect.poll(() => listUploads(BUCKET), { timeout: 30_000 }).toEqual([]);
  await expect(page.getByTestId("object-row").filter({ hasText: "cancelled.bin" })).toHaveCount(0);
});

test("details: tags, versions, share link", async ({ page, request }) => {
  const file = randomFile(work, "notes.txt", 1234);
  await loginAsRoot(page);
  await openBucket(page);
  await upload(page, file.path, "notes.txt");
  const row = page.getByTestId("object-row").filter({ hasText: "notes.txt" });
  await row.getByRole("button", { name: "Details" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByTestId("object-details")).toContainText("1,234 bytes");

  await dialog.getByRole("tab", { name: "Tags" }).click();
  await dialog.getByRole("button", { name: "Add tag" }).click();
  await dialog.getByLabel("Tag key 1").fill("team");
  await dialog.getByLabel("Tag value 1").fill("storage");
  await dialog.getByRole("button", { name: "Save tags" }).click();
  await expect(dialog.getByText("Tags saved.")).toBeVisible();
  await screenshot(page, "12-tags");
  // Read back: another tab and back again reloads them from the server.
  await dialog.getByRole("tab", { name: "Details" }).click();
  await dialog.getByRole("tab", { name: "Tags" }).click();
  await expect(dialog.getByLabel("Tag value 1")).toHaveValue("storage");

  await page.keyboard.press("Escape");
  // A second version (the bucket is versioned): listed, the old one downloadable, then deleted.
  await upload(page, file.path, "notes.txt");
  await row.getByRole("button", { name: "Details" }).click();
  await dialog.getByRole("tab", { name: "Versions" }).click();
  await expect(dialog.getByTestId("version-row")).toHaveCount(2);
  await screenshot(page, "13-versions");
  const old = dialog.getByTestId("version-row").nth(1);
  const [download] = await Promise.all([page.waitForEvent("download"), old.getByRole("button", { name: "Download" }).click()]);
  const saved = join(work, "old-notes.txt");
  await download.saveAs(saved);
  expect(await sha256File(saved)).toBe(file.sha256);
  await old.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog", { name: "Delete version" }).getByRole("button", { name: "Delete version" }).click();
  await expect(dialog.getByTestId("version-row")).toHaveCount(1);

  await dialog.getByRole("tab", { name: "Share" }).click();
  await dialog.getByLabel("Expires after").selectOption({ label: "1 day" });
  await dialog.getByRole("button", { name: "Create link" }).click();
  const link = await dialog.getByLabel("Share link").inputValue();
  expect(link.startsWith(serverInfo().s3Url + `/${BUCKET}/notes.txt?`)).toBe(true);
  expect(link).toContain("X-Amz-Expires=86400");
  await screenshot(page, "14-share-link");
  // The link works with no credentials, straight on the S3 port.
  const res = await request.get(link);
  expect(res.status()).toBe(200);
  expect((await res.body()).length).toBe(1234);
});

test("folders: create one, navigate into it by breadcrumbs", async ({ page }) => {
  await loginAsRoot(page);
  await openBucket(page);
  await page.getByRole("button", { name: "New folder" }).click();
  await page.getByLabel("Folder name").fill("reports");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByText("This folder is empty")).toBeVisible();
  const file = randomFile(work, "q1.csv", 2048);
  await upload(page, file.path, "q1.csv");
  await expect(page.getByTestId("object-row").filter({ hasText: "q1.csv" })).toHaveAttribute("data-key", "reports/q1.csv");
  await dropFile(page, "dropped.txt", "dropped on the list");
  await expect(page.getByTestId("upload-row").filter({ hasText: "dropped.txt" })).toHaveAttribute("data-state", "done");
  await expect(page.getByTestId("object-row").filter({ hasText: "dropped.txt" })).toHaveAttribute("data-key", "reports/dropped.txt");
  // A name with spaces, "+", and letters outside ASCII: signed, listed and downloaded as it is.
  const odd = randomFile(work, "résumé 2026+final (1).txt", 3000);
  await upload(page, odd.path, "résumé 2026+final (1).txt");
  await expect(page.getByTestId("object-row").filter({ hasText: "résumé" })).toHaveAttribute("data-key", "reports/résumé 2026+final (1).txt");
  expect(await downloadAndHash(page, "résumé 2026+final (1).txt")).toBe(odd.sha256);
  await screenshot(page, "15-folder");
  await page.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link", { name: BUCKET }).click();
  await expect(page.getByRole("link", { name: "reports/" })).toBeVisible();
  await screenshot(page, "16-bucket-with-folder");
});

test("pages of 100 follow continuation tokens", async ({ page }) => {
  const keys = Array.from({ length: 105 }, (_, i) => `many/obj-${String(i).padStart(3, "0")}.txt`);
  for (let i = 0; i < keys.length; i += 15) await Promise.all(keys.slice(i, i + 15).map((k) => putObject(BUCKET, k, k)));
  await loginAsRoot(page);
  await page.goto(serverInfo().consoleUrl + `/#/browse/${BUCKET}/many/`);
  const rows = page.getByTestId("object-row");
  await expect(rows).toHaveCount(100);
  await expect(page.getByText("Page 1")).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByText("Page 2")).toBeVisible();
  await expect(rows).toHaveCount(5);
  await expect(rows.first()).toHaveAttribute("data-key", "many/obj-100.txt");
  await expect(page.getByRole("button", { name: "Next" })).toBeDisabled();
  await screenshot(page, "16b-second-page");
  await page.getByRole("button", { name: "Previous" }).click();
  await expect(rows).toHaveCount(100);
  await expect(rows.first()).toHaveAttribute("data-key", "many/obj-000.txt");
});

test("6. a user with the readonly policy (made on the identity page) is refused on upload", async ({ page }) => {
  const user = "consolereader";
  const secret = "reader-secret-" + Date.now();
  await loginAsRoot(page);
  await page.goto(serverInfo().consoleUrl + "/#/identity/users");
  await page.getByTestId("users-create").click();
  await page.getByTestId("user-access-key").fill(user);
  await page.getByTestId("user-secret-key").fill(secret);
  await page.getByTestId("user-policy-readonly").check();
  await page.getByTestId("user-create-submit").click();
  await expect(page.getByTestId("created-access-key")).toHaveValue(user);
  await page.getByTestId("created-close").click();
  await expect(page.getByTestId(`user-policies-${user}`)).toHaveText("readonly");
  await page.getByRole("button", { name: "Log out" }).click();

  await login(page, user, secret);
  // No s3:ListAllMyBuckets either: the bucket is opened by its name.
  await page.goto(serverInfo().consoleUrl + "/#/browse");
  await expect(page.getByRole("alert")).toContainText("AccessDenied");
  await page.getByLabel("Open a bucket by name").fill(BUCKET);
  await page.getByRole("button", { name: "Open", exact: true }).click();
  await expect(page.getByRole("heading", { name: BUCKET })).toBeVisible();
  // MinIO's readonly policy allows s3:GetObject and s3:GetBucketLocation, not listing.
  await expect(page.getByText("The objects here cannot be listed")).toBeVisible();
  await expect(page.getByRole("alert")).toContainText("AccessDenied");
  const file = randomFile(work, "denied.txt", 100);
  await page.getByTestId("file-input").setInputFiles(file.path);
  const row = page.getByTestId("upload-row").filter({ hasText: "denied.txt" });
  await expect(row).toHaveAttribute("data-state", "failed");
  await expect(row).toContainText("AccessDenied");
  await expect(page.getByRole("alert").filter({ hasText: "Upload of denied.txt failed" })).toContainText("AccessDenied");
  await screenshot(page, "17-readonly-refused");
});

test("a user made through the IAM API with readonly is refused on a dropped file too", async ({ browser }) => {
  // The IAM API from the test process (node + aws4fetch), the same policy by its ARN.
  const user = await readonlyUser("console-reader-api");
  const page = await browser.newPage();
  await login(page, user.accessKey, user.secretKey);
  await openBucket(page);
  await expect(page.getByText("The objects here cannot be listed")).toBeVisible();
  await dropFile(page, "dropped-denied.txt", "no");
  const row = page.getByTestId("upload-row").filter({ hasText: "dropped-denied.txt" });
  await expect(row).toHaveAttribute("data-state", "failed");
  await expect(row).toContainText("AccessDenied");
  await page.close();
});

/** Drops a file made in the page on the object list (drag and drop). */
async function dropFile(page: Page, name: string, content: string): Promise<void> {
  const dt = await page.evaluateHandle(
    ([n, c]) => {
      const d = new DataTransfer();
      d.items.add(new File([c], n, { type: "text/plain" }));
      return d;
    },
    [name, content],
  );
  await page.getByTestId("dropzone").dispatchEvent("dragover", { dataTransfer: dt });
  await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: dt });
}
