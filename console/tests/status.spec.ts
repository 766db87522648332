// The status page: volumes online, the erasure layout, heal and workers, the graphs.
import { test, expect } from "@playwright/test";
import { go, login, shot } from "./pages-helpers";

test("status: volumes, heal, workers and the traffic graphs", async ({ page }) => {
  await login(page);
  await go(page, "/#/status");
  const rows = page.locator("[data-testid^=volume-row-]");
  await expect(rows.first()).toContainText("online");
  const n = await rows.count();
  expect(n).toBeGreaterThan(0);
  await expect(page.getByTestId("status-online")).toHaveText(`${n} / ${n}`);
  await expect(page.getByTestId("status-offline")).toHaveText("0");
  await expect(page.getByTestId("status-workers")).toContainText("lifecycle");
  await page.getByTestId("heal-start").click();
  await expect(page.getByTestId("status-heal")).toContainText(/Pass \d+/);
  // Either the graphs (the server reports traffic counters) or a note that it does not.
  const chart = page.getByTestId("chart-requests");
  const none = page.getByTestId("status-no-traffic");
  await expect(chart.or(none)).toBeVisible();
  if (await chart.isVisible()) {
    // Two polls make the first point of the graph; traffic from the page's own calls.
    await expect(chart.locator("polyline").first()).toBeVisible({ timeout: 15_000 });
  }
  await shot(page, "status");
});
