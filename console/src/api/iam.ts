// Users, groups, policies and access keys through MinIO's admin API at /rustfs/admin/v3
// (plain JSON bodies, signed for service `s3`). Why this API rather than the AWS IAM query
// API the server also serves: it is the MinIO user model the console shows (a user IS its
// access key, the admin chooses the secret, the canned policies readonly/readwrite/writeonly/
// consoleAdmin attach by name), it has user and group enable/disable, and its service
// accounts may be managed by any user for itself — all in JSON, one call per action. Both
// APIs act on the same identity records, so users made here are seen by `aws iam` as well.
import { v3 } from './admin';

export interface UserInfo {
  policyName?: string;
  status: 'enabled' | 'disabled';
  memberOf?: string[];
  updatedAt?: string;
}

export async function listUsers(): Promise<Record<string, UserInfo>> {
  return (await v3<Record<string, UserInfo>>('list-users')) ?? {};
}

export function userInfo(accessKey: string): Promise<UserInfo> {
  return v3<UserInfo>('user-info', { query: { accessKey } });
}

export async function addUser(accessKey: string, secretKey: string, policies: string[] = []): Promise<void> {
  await v3('add-user', {
    method: 'PUT',
    query: { accessKey },
    body: { secretKey, status: 'enabled' },
  });
  if (policies.length) await attachPolicies(policies, { user: accessKey });
}

export async function removeUser(accessKey: string): Promise<void> {
  await v3('remove-user', { method: 'DELETE', query: { accessKey } });
}

export async function setUserStatus(accessKey: string, enabled: boolean): Promise<void> {
  await v3('set-user-status', {
    method: 'PUT',
    query: { accessKey, status: enabled ? 'enabled' : 'disabled' },
  });
}

/** The user's (or group's) policies become exactly `policies`. */
export async function setPolicies(target: string, policies: string[], isGroup: boolean): Promise<void> {
  await v3('set-user-or-group-policy', {
    method: 'PUT',
    query: { userOrGroup: target, policyName: policies.join(','), isGroup: String(isGroup) },
  });
}

export async function attachPolicies(policies: string[], to: { user?: string; group?: string }): Promise<void> {
  await v3('idp/builtin/policy/attach', {
    method: 'POST',
    body: { policies, user: to.user ?? '', group: to.group ?? '' },
  });
}

// ---- groups ----------------------------------------------------------------------------

export interface GroupDesc {
  name: string;
  status: 'enabled' | 'disabled';
  members: string[];
  policy: string;
  updatedAt?: string;
}

export async function listGroups(): Promise<string[]> {
  return (await v3<string[]>('groups')) ?? [];
}

export function groupInfo(group: string): Promise<GroupDesc> {
  return v3<GroupDesc>('group', { query: { group } });
}

/** Adds members (creating the group if it is new: MinIO's way to create a group). */
export async function addMembers(group: string, members: string[]): Promise<void> {
  await v3('update-group-members', { method: 'PUT', body: { group, members, isRemove: false } });
}

export async function removeMembers(group: string, members: string[]): Promise<void> {
  await v3('update-group-members', { method: 'PUT', body: { group, members, isRemove: true } });
}

/** Deletes an empty group (a group with members is refused by the server). */
export async function deleteGroup(group: string): Promise<void> {
  await v3('update-group-members', { method: 'PUT', body: { group, members: [], isRemove: true } });
}

export async function setGroupStatus(group: string, enabled: boolean): Promise<void> {
  await v3('set-group-status', {
    method: 'PUT',
    query: { group, status: enabled ? 'enabled' : 'disabled' },
  });
}

// ---- policies --------------------------------------------------------------------------

/** The policies MinIO ships (the server has them built in; they cannot be removed). */
export const CANNED = ['readonly', 'readwrite', 'writeonly', 'consoleAdmin', 'diagnostics'];

export async function listPolicies(): Promise<Record<string, unknown>> {
  return (await v3<Record<string, unknown>>('list-canned-policies')) ?? {};
}

export function policyInfo(name: string): Promise<unknown> {
  return v3('info-canned-policy', { query: { name } });
}

/** Creates or replaces a managed policy; `document` is sent as typed (the server validates). */
export async function addPolicy(name: string, document: string): Promise<void> {
  await v3('add-canned-policy', { method: 'PUT', query: { name }, rawBody: document });
}

export async function removePolicy(name: string): Promise<void> {
  await v3('remove-canned-policy', { method: 'DELETE', query: { name } });
}

// ---- access keys (MinIO service accounts) ----------------------------------------------

export interface ServiceAccount {
  parentUser: string;
  accountStatus: 'on' | 'off';
  impliedPolicy: boolean;
  accessKey?: string;
  name: string;
  description: string;
  expiration?: string;
}

/** A user's access keys (`user` empty: the caller's own). */
export async function listServiceAccounts(user = ''): Promise<ServiceAccount[]> {
  const r = await v3<{ accounts: ServiceAccount[] }>('list-service-accounts', {
    query: user ? { user } : {},
  });
  return r?.accounts ?? [];
}

export interface NewServiceAccount {
  targetUser?: string;
  name?: string;
  description?: string;
  /** A policy narrowing the key's rights (JSON text), or none: the parent's rights. */
  policy?: string;
  /** RFC 3339, or none. */
  expiration?: string;
}

export async function addServiceAccount(spec: NewServiceAccount): Promise<{ accessKey: string; secretKey: string }> {
  const body: Record<string, unknown> = {
    targetUser: spec.targetUser ?? '',
    name: spec.name ?? '',
    description: spec.description ?? '',
  };
  if (spec.policy?.trim()) body.policy = spec.policy;
  if (spec.expiration) body.expiration = spec.expiration;
  const r = await v3<{ credentials: { accessKey: string; secretKey: string } }>('add-service-account', {
    method: 'PUT',
    body,
  });
  return r.credentials;
}

export async function setServiceAccountStatus(accessKey: string, enabled: boolean): Promise<void> {
  await v3('update-service-account', {
    method: 'POST',
    query: { accessKey },
    body: { newStatus: enabled ? 'on' : 'off' },
  });
}

export async function deleteServiceAccount(accessKey: string): Promise<void> {
  await v3('delete-service-account', { method: 'DELETE', query: { accessKey } });
}
