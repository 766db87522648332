// Login: STS GetSessionToken signed with the long-term key the user typed.
//
// The server checks the signature, so a wrong secret is refused (SignatureDoesNotMatch,
// InvalidAccessKeyId). The temporary credentials it returns are what the console keeps;
// the long-term secret is dropped.

import { signedFetchRaw } from "./sign";
import { ApiError, errorFromBody, parseXml, text } from "./xml";
import type { Session } from "../session";

export const SESSION_SECONDS = 43200;

export async function getSessionToken(accessKeyId: string, secretAccessKey: string): Promise<Session> {
  const body = `Action=GetSessionToken&Version=2011-06-15&DurationSeconds=${SESSION_SECONDS}`;
  const res = await signedFetchRaw({
    service: "sts",
    method: "POST",
    path: "/",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    body,
    credentials: { accessKeyId, secretAccessKey },
  });
  const xml = await res.text();
  if (!res.ok) {
    const err = errorFromBody(res.status, xml, res.statusText);
    if (["SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidClientTokenId", "AccessDenied"].includes(err.code)) {
      throw new ApiError(err.status, "", `Wrong access key or secret (${err.code}).`);
    }
    throw err;
  }
  const doc = parseXml(xml);
  const session: Session = {
    user: accessKeyId,
    accessKeyId: text(doc, "AccessKeyId"),
    secretAccessKey: text(doc, "SecretAccessKey"),
    sessionToken: text(doc, "SessionToken"),
    expiration: text(doc, "Expiration"),
  };
  if (!session.accessKeyId || !session.secretAccessKey) {
    throw new ApiError(res.status, "InvalidResponse", "the server's answer had no credentials");
  }
  return session;
}
