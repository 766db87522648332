//! STS: AssumeRole (a role's temporary credentials, optionally narrowed by a session policy;
//! the role's trust policy must name the caller), GetSessionToken (the caller's own rights,
//! temporarily) and GetCallerIdentity. Credentials are made by [`crate::identity::sts`].

use rustfs_object::policy::{self, Decision};

use super::xml::Xml;
use super::{Call, QueryError, caller_arn, date, identity_policy, no_context};
use crate::auth::MemberKind;
use crate::identity::evaluate::caller_of;
use crate::identity::sts::{Claims, StsKeys, Subject};
use crate::identity::{ACCOUNT, session_arn};

type Answer = Result<Option<Xml>, QueryError>;

/// The STS actions (answered in STS's XML namespace).
pub const ACTIONS: [&str; 5] = [
    "AssumeRole",
    "GetSessionToken",
    "GetCallerIdentity",
    "AssumeRoleWithWebIdentity",
    "AssumeRoleWithSAML",
];

/// AWS's bounds: sessions of 15 minutes at least; GetSessionToken up to 36 hours.
const MIN_SESSION: u64 = 900;
const MAX_USER_SESSION: u64 = 129_600;
const DEFAULT_USER_SESSION: u64 = 43_200;
const DEFAULT_ROLE_SESSION: u64 = 3600;
/// AWS's limit on a session policy's size.
const MAX_SESSION_POLICY: usize = 2048;

pub async fn serve(call: &Call<'_>, action: &str) -> Option<Answer> {
    Some(match action {
        "AssumeRole" => assume_role(call),
        "GetSessionToken" => session_token(call),
        "GetCallerIdentity" => caller_identity(call),
        _ => return None,
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn write_credentials(x: &mut Xml, ak: &str, sk: &str, token: &str, expires_ms: i64) {
    x.open("Credentials")
        .leaf("AccessKeyId", ak)
        .leaf("SecretAccessKey", sk)
        .leaf("SessionToken", token)
        .leaf("Expiration", &date(expires_ms))
        .close("Credentials");
}

fn is_session(call: &Call<'_>) -> bool {
    StsKeys::is_temporary(&call.caller.access_key)
}

fn assume_role(call: &Call<'_>) -> Answer {
    let arn = call.form.need("RoleArn")?;
    let session = call.form.need("RoleSessionName")?;
    if !(2..=64).contains(&session.len())
        || !session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        return Err(QueryError::Invalid("RoleSessionName", session.to_string()));
    }
    let name = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(":role/"))
        .and_then(|(_, p)| p.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| QueryError::Invalid("RoleArn", arn.to_string()))?;
    let keys = call.ids.keys();
    let role = keys
        .snapshot()
        .roles
        .get(name)
        .cloned()
        .ok_or_else(|| QueryError::NoSuchEntity(format!("Role {arn} does not exist.")))?;
    let ctx = no_context();
    let req = policy::Request {
        caller: Some(caller_of(&call.caller)),
        action: "sts:AssumeRole",
        resource: &role.arn,
        context: &ctx,
    };
    let trusted = role
        .trust
        .as_ref()
        .is_some_and(|t| t.evaluate(&req) == Decision::Allow);
    let narrowed_ok = call
        .caller
        .member
        .as_ref()
        .is_none_or(|m| m.narrowing_allows(&req));
    if !trusted || !narrowed_ok {
        return Err(QueryError::Denied(format!(
            "{} is not authorized to perform sts:AssumeRole on {}",
            caller_arn(&call.caller),
            role.arn
        )));
    }
    let max = u64::from(role.max_session_secs.max(DEFAULT_ROLE_SESSION as u32));
    let secs = call
        .form
        .number("DurationSeconds", MIN_SESSION..=max)?
        .unwrap_or(DEFAULT_ROLE_SESSION);
    let policy = call.form.get("Policy").filter(|p| !p.is_empty());
    if let Some(p) = policy {
        if p.len() > MAX_SESSION_POLICY {
            return Err(QueryError::Invalid(
                "Policy",
                "longer than 2048 characters".into(),
            ));
        }
        identity_policy(p)?;
    }
    let expires_ms = now_ms() + secs as i64 * 1000;
    let claims = Claims {
        subject: Subject::Role {
            role: role.name.clone(),
            session: session.to_string(),
            by: call.caller.access_key.clone(),
        },
        expires_ms,
        policy: policy.map(str::to_string),
    };
    let (ak, sk, token) = keys.sts().mint(&claims)?;
    let mut x = Xml::default();
    write_credentials(&mut x, &ak, &sk, &token, expires_ms);
    x.open("AssumedRoleUser")
        .leaf("AssumedRoleId", &format!("{}:{session}", role.id))
        .leaf("Arn", &session_arn(&role.arn_account, &role.name, session))
        .close("AssumedRoleUser");
    x.leaf(
        "PackedPolicySize",
        &policy
            .map_or(0, |p| p.len() * 100 / MAX_SESSION_POLICY)
            .to_string(),
    );
    Ok(Some(x))
}

fn session_token(call: &Call<'_>) -> Answer {
    if is_session(call) {
        return Err(QueryError::Denied(
            "Cannot call GetSessionToken with session credentials".into(),
        ));
    }
    let secs = call
        .form
        .number("DurationSeconds", MIN_SESSION..=MAX_USER_SESSION)?
        .unwrap_or(DEFAULT_USER_SESSION);
    let expires_ms = now_ms() + secs as i64 * 1000;
    let claims = Claims {
        subject: Subject::User {
            access_key: call.caller.access_key.clone(),
        },
        expires_ms,
        policy: None,
    };
    let (ak, sk, token) = call.ids.keys().sts().mint(&claims)?;
    let mut x = Xml::default();
    write_credentials(&mut x, &ak, &sk, &token, expires_ms);
    Ok(Some(x))
}

fn caller_identity(call: &Call<'_>) -> Answer {
    let u = &call.caller;
    let account = match &u.member {
        Some(m) if !m.owner && m.account.is_none() => ACCOUNT,
        _ => u.id.as_str(),
    };
    let user_id = match &u.member {
        Some(m) if m.owner => u.id.clone(),
        Some(m) => match &m.kind {
            MemberKind::Session { role: Some(_) } => {
                let role_id = call
                    .ids
                    .keys()
                    .snapshot()
                    .roles
                    .get(&m.name)
                    .map(|r| r.id.clone())
                    .unwrap_or_default();
                let session = m.arn.rsplit('/').next().unwrap_or_default();
                format!("{role_id}:{session}")
            }
            _ if !m.user_id.is_empty() => m.user_id.clone(),
            _ => super::users::user_id(&m.name),
        },
        None => u.id.clone(),
    };
    let mut x = Xml::default();
    x.leaf("Arn", &caller_arn(u))
        .leaf("UserId", &user_id)
        .leaf("Account", account);
    Ok(Some(x))
}
