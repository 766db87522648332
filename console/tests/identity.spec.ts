// The identity pages: a user created with the readonly policy (its credentials shown once),
// a group with that member and a policy, a custom policy created from JSON (invalid JSON
// refused first), an access key created and disabled; a non-admin user sees the
// "no permission" panel.
import { test, expect } from "@playwright/test";
import { go, login, shot, shotView, unique } from "./pages-helpers";

test("identity: users, groups, policies and access keys", async ({ page }) => {
  await login(page);
  const user = unique("alice").replace(/-/g, "");
  const secret = "secret-" + unique("s");
  await go(page, "/#/identity/users");
  await page.getByTestId("users-create").click();
  await page.getByTestId("user-access-key").fill(user);
  await page.getByTestId("user-secret-key").fill(secret);
  await page.getByTestId("user-policy-readonly").check();
  await shotView(page, "identity-user-create");
  await page.getByTestId("user-create-submit").click();
  await expect(page.getByTestId("created-access-key")).toHaveValue(user);
  await expect(page.getByTestId("created-secret-key")).toHaveValue(secret);
  await shotView(page, "identity-user-created");
  await page.getByTestId("created-close").click();
  await expect(page.getByTestId(`user-policies-${user}`)).toHaveText("readonly");
  await expect(page.getByTestId(`user-status-${user}`)).toHaveText("enabled");
  await page.getByTestId(`user-toggle-${user}`).click();
  await expect(page.getByTestId(`user-status-${user}`)).toHaveText("disabled");
  await page.getByTestId(`user-toggle-${user}`).click();
  await expect(page.getByTestId(`user-status-${user}`)).toHaveText("enabled");
  await shot(page, "identity-users");

  // A custom policy: invalid JSON refused with its position, then created.
  const pol = unique("team");
  await go(page, "/#/identity/policies");
  await page.getByTestId("policies-create").click();
  await page.getByTestId("policy-name").fill(pol);
  await page.getByTestId("policy-doc").fill('{"Version": "2012-10-17", "Statement": [}');
  await page.getByTestId("policy-create-submit").click();
  await expect(page.getByTestId("policy-create-error")).toContainText("line 1");
  await page.getByTestId("policy-doc").fill(JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::team/*"] }] }, null, 2));
  await page.getByTestId("policy-create-submit").click();
  await expect(page.getByTestId(`policy-row-${pol}`)).toContainText("custom");
  await page.getByTestId(`policy-view-${pol}`).click();
  await expect(page.getByTestId("policy-json")).toContainText("arn:aws:s3:::team/*");
  await page.keyboard.press("Escape");
  await shot(page, "identity-policies");

  // A group with the user as member and the custom policy.
  const group = unique("analysts");
  await go(page, "/#/identity/groups");
  await page.getByTestId("groups-create").click();
  await page.getByTestId("group-name").fill(group);
  await page.getByTestId(`group-member-${user}`).check();
  await page.getByTestId(`group-policy-${pol}`).check();
  await page.getByTestId("group-create-submit").click();
  await expect(page.getByTestId(`group-members-${group}`)).toHaveText(user);
  await expect(page.getByTestId(`group-policy-cell-${group}`)).toHaveText(pol);
  await shot(page, "identity-groups");

  // Access keys of the user, created by the administrator.
  await go(page, `/#/identity/keys/${user}`);
  await page.getByTestId("keys-create").click();
  await page.getByTestId("key-name").fill("backup");
  await page.getByTestId("key-create-submit").click();
  const ak = await page.getByTestId("created-access-key").inputValue();
  expect(ak.length).toBeGreaterThan(8);
  await page.getByTestId("created-close").click();
  await expect(page.getByTestId(`key-row-${ak}`)).toContainText("backup");
  await page.getByTestId(`key-toggle-${ak}`).click();
  await expect(page.getByTestId(`key-row-${ak}`)).toContainText("disabled");
  await shot(page, "identity-keys");

  // A policy in use is not deleted (the server's message shown); once its group is gone it is.
  await go(page, "/#/identity/policies");
  await page.getByTestId(`policy-delete-${pol}`).click();
  await page.getByTestId("confirm-yes").click();
  await expect(page.getByTestId("confirm-error")).toBeVisible();
  await shotView(page, "identity-policy-in-use");
  await page.keyboard.press("Escape");
  await go(page, "/#/identity/groups");
  await page.getByTestId(`group-delete-${group}`).click();
  await page.getByTestId("confirm-yes").click();
  await expect(page.getByTestId(`group-row-${group}`)).toHaveCount(0);
  await go(page, "/#/identity/policies");
  await page.getByTestId(`policy-delete-${pol}`).click();
  await page.getByTestId("confirm-yes").click();
  await expect(page.getByTestId(`policy-row-${pol}`)).toHaveCount(0);

  // The readonly user may not manage identities: a clear panel, not a broken page.
  await page.getByRole("button", { name: "Log out" }).click();
  await login(page, user, secret);
  await go(page, "/#/identity/users");
  await expect(page.getByTestId("no-permission")).toBeVisible();
  await shot(page, "identity-no-permission");
  await go(page, "/#/status");
  await expect(page.getByTestId("no-permission")).toBeVisible();
  // Its own access keys it manages through its console session.
  await go(page, "/#/identity/keys");
  await page.getByTestId("keys-create").click();
  await page.getByTestId("key-name").fill("mine");
  await page.getByTestId("key-create-submit").click();
  const own = await page.getByTestId("created-access-key").inputValue();
  await page.getByTestId("created-close").click();
  await expect(page.getByTestId(`key-row-${own}`)).toContainText("mine");
  await expect(page.getByTestId("keys-user")).toHaveCount(0);
  await shot(page, "identity-keys-own");
  await page.getByTestId(`key-delete-${own}`).click();
  await page.getByTestId("confirm-yes").click();
  await expect(page.getByTestId(`key-row-${own}`)).toHaveCount(0);
});
