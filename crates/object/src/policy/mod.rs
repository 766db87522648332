//! Bucket policies: the JSON document (parsed and validated when a bucket's policy is set)
//! and its evaluation against one request, with IAM's semantics: an explicit `Deny` wins, an
//! `Allow` grants, and a request no statement matches is left to the ACLs.
//!
//! Supported: `Principal` (`"*"`, `{"AWS": ...}`, `{"CanonicalUser": ...}`) and, with `Deny`,
//! `NotPrincipal`; `Action`/`NotAction` with wildcards (compared ignoring case);
//! `Resource`/`NotResource` (`arn:aws:s3:::bucket[/key-pattern]`, `*` and `?`); `Condition`
//! with the string, numeric, date, boolean, binary, IP and `Null` operators, the `IfExists`
//! suffix and the `ForAnyValue:`/`ForAllValues:` qualifiers (see [`condition`]). Policies of
//! version 2012-10-17 may use policy variables (`${aws:username}`, `${s3:prefix}`, ...) in
//! resources and condition values; a substituted value is matched as a pattern too.

mod condition;
pub mod wildcard;

use serde_json::{Map, Value};

pub use condition::Context;
use condition::{Condition, substitute};

/// Why a policy document was refused (S3's `MalformedPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(String);

impl PolicyError {
    fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// A policy's effect on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A `Deny` statement matches: refused, whatever else grants.
    Deny,
    /// An `Allow` statement matches and no `Deny` does.
    Allow,
    /// No statement matches: the ACLs decide.
    NotApplicable,
}

/// Who is asking, as a policy's `Principal` may name them. `None` in a [`Request`] is an
/// anonymous caller, whom only `"*"` names.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// Canonical user id.
    pub id: &'a str,
    pub access_key: &'a str,
    pub display_name: &'a str,
    /// The canonical id of the account it acts in (its own id for an account): a principal
    /// naming the account (`ACCOUNT`, `arn:aws:iam::ACCOUNT:root`) names it.
    pub account: &'a str,
}

/// One request as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub caller: Option<Caller<'a>>,
    /// IAM action, such as `s3:GetObject`.
    pub action: &'a str,
    /// `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`.
    pub resource: &'a str,
    pub context: &'a Context,
}

/// The ARN of a bucket (`key` `None`) or of an object.
pub fn resource_arn(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("{ARN_PREFIX}{bucket}/{k}"),
        None => format!("{ARN_PREFIX}{bucket}"),
    }
}

const ARN_PREFIX: &str = "arn:aws:s3:::";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    /// `"*"` or `{"AWS": "*"}`: everyone, anonymous callers included.
    Anyone,
    /// `AWS` ARNs or account ids, and canonical user ids.
    Ids(Vec<String>),
}

impl Principal {
    fn names(&self, caller: Option<Caller<'_>>) -> bool {
        let ids = match self {
            Principal::Anyone => return true,
            Principal::Ids(ids) => ids,
        };
        let Some(c) = caller else {
            return false;
        };
        let is_caller = |name: &str| name == c.id || name == c.access_key || name == c.display_name;
        let is_account = |name: &str| !name.is_empty() && name == c.account;
        ids.iter().any(|p| {
            if is_caller(p) || is_account(p) {
                return true;
            }
            // arn:aws:iam::ACCOUNT:root or arn:aws:iam::ACCOUNT:user/NAME (RGW names a tenant's
            // user ACCOUNT:user/NAME, its id being `ACCOUNT$NAME`).
            let Some(rest) = p.strip_prefix("arn:aws:iam::") else {
                return false;
            };
            match rest.split_once(':') {
                Some((account, "root")) => is_caller(account) || is_account(account),
                Some((account, res)) => res.strip_prefix("user/").is_some_and(|name| {
                    is_caller(name) || (!account.is_empty() && c.id == format!("{account}${name}"))
                }),
                None => false,
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    allow: bool,
    principal: Principal,
    /// `NotPrincipal`: the statement applies to everyone the principal does not name.
    not_principal: bool,
    actions: Vec<String>,
    not_action: bool,
    resources: Vec<String>,
    not_resource: bool,
    conditions: Vec<Condition>,
}

impl Statement {
    /// `vars`: resources and condition values may hold policy variables.
    fn applies(&self, req: &Request<'_>, vars: bool) -> bool {
        let resource = |r: &String| {
            if vars {
                substitute(r, req.context).is_some_and(|r| wildcard::matches(&r, req.resource))
            } else {
                wildcard::matches(r, req.resource)
            }
        };
        self.principal.names(req.caller) != self.not_principal
            && self
                .actions
                .iter()
                .any(|a| wildcard::matches_ignore_case(a, req.action))
                != self.not_action
            && self.resources.iter().any(resource) != self.not_resource
            && self.conditions.iter().all(|c| c.holds(req.context, vars))
    }

    /// Whether the statement grants everyone without a condition that pins the caller down
    /// (an address range, an account, a VPC), as S3's "public" means.
    fn is_public(&self) -> bool {
        const PINNING: [&str; 9] = [
            "aws:sourceip",
            "aws:sourcearn",
            "aws:sourcevpc",
            "aws:sourcevpce",
            "aws:sourceaccount",
            "aws:sourceowner",
            "aws:principalaccount",
            "aws:principalarn",
            "aws:principalorgid",
        ];
        self.allow
            && !self.not_principal
            && self.principal == Principal::Anyone
            && !self
                .conditions
                .iter()
                .any(|c| PINNING.contains(&c.key().to_ascii_lowercase().as_str()))
    }
}

/// A parsed, validated bucket policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
    /// Version 2012-10-17: policy variables are substituted.
    variables: bool,
}

/// A string or a non-empty array of strings (`Action`, `Resource`, principal ids).
fn strings(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    let out: Option<Vec<String>> = match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => None,
    };
    match out {
        Some(v) if !v.is_empty() && v.iter().all(|s| !s.is_empty()) => Ok(v),
        _ => Err(PolicyError::new(format!(
            "{what} must be a string or a list of strings"
        ))),
    }
}

fn parse_principal(v: &Value) -> Result<Principal, PolicyError> {
    let bad = || PolicyError::new("Invalid principal in policy");
    match v {
        Value::String(s) if s == "*" => Ok(Principal::Anyone),
        Value::Object(m) if !m.is_empty() => {
            let mut ids = Vec::new();
            for (kind, v) in m {
                let vals = strings(v, "Principal").map_err(|_| bad())?;
                match kind.as_str() {
                    "AWS" if vals.iter().any(|s| s == "*") => return Ok(Principal::Anyone),
                    "AWS" | "CanonicalUser" => ids.extend(vals),
                    // Service and federated principals never name one of our users.
                    "Service" | "Federated" => {}
                    _ => return Err(bad()),
                }
            }
            Ok(Principal::Ids(ids))
        }
        _ => Err(bad()),
    }
}

/// Whether a resource pattern (after `arn:aws:s3:::`) can name `bucket` or an object in it.
fn in_bucket(pattern: &str, bucket: &str) -> bool {
    let literal = pattern.find(['*', '?']).map_or(pattern, |i| &pattern[..i]);
    let bucket_slash = format!("{bucket}/");
    if literal.len() == pattern.len() {
        return pattern == bucket || pattern.starts_with(&bucket_slash);
    }
    bucket_slash.starts_with(literal) || literal.starts_with(&bucket_slash)
}

/// What a policy document is attached to, which decides what its statements may name.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// A bucket policy: a principal in every statement, `s3:` actions, this bucket's resources.
    Bucket(&'a str),
    /// An identity policy (a user's, a group's, a role's, a session's): no principal (it
    /// applies to whoever holds it), actions of any service (`s3:`, `admin:`, `iam:`, `sts:`,
    /// `kms:`), resources of any bucket; a statement with only non-S3 actions (MinIO's
    /// `admin:*`) may leave `Resource` out.
    Identity,
    /// A role's trust policy: a principal in every statement (who may assume the role),
    /// actions of any service (`sts:AssumeRole`), `Resource` optional.
    Trust,
}

fn parse_statement(v: &Value, scope: Scope<'_>) -> Result<Statement, PolicyError> {
    let Value::Object(m) = v else {
        return Err(PolicyError::new("a Statement must be an object"));
    };
    const FIELDS: [&str; 10] = [
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Id",
    ];
    if let Some(unknown) = m.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(PolicyError::new(format!(
            "unknown field {unknown} in a Statement"
        )));
    }
    let allow = match m.get("Effect").and_then(Value::as_str) {
        Some("Allow") => true,
        Some("Deny") => false,
        Some(other) => return Err(PolicyError::new(format!("invalid Effect {other:?}"))),
        None => return Err(PolicyError::new("missing Effect")),
    };
    let (principal, not_principal) = match scope {
        Scope::Bucket(_) | Scope::Trust => {
            let (principal, not_principal) = one_of(m, "Principal", "NotPrincipal")?;
            (parse_principal(principal)?, not_principal)
        }
        Scope::Identity if m.contains_key("Principal") || m.contains_key("NotPrincipal") => {
            return Err(PolicyError::new(
                "Policy document should not specify a principal.",
            ));
        }
        Scope::Identity => (Principal::Anyone, false),
    };
    if not_principal && allow {
        return Err(PolicyError::new(
            "NotPrincipal is only supported with Effect Deny",
        ));
    }
    let (actions, not_action) = one_of(m, "Action", "NotAction")?;
    let actions = strings(actions, "Action")?;
    let valid_action = |a: &str| match scope {
        Scope::Bucket(_) => a == "*" || a.to_ascii_lowercase().starts_with("s3:"),
        Scope::Identity | Scope::Trust => a == "*" || is_service_action(a),
    };
    if let Some(bad) = actions.iter().find(|a| !valid_action(a)) {
        return Err(PolicyError::new(format!(
            "Policy has invalid action {bad:?}"
        )));
    }
    let only_admin = !not_action
        && actions
            .iter()
            .all(|a| a != "*" && !a.to_ascii_lowercase().starts_with("s3:"));
    let no_resource = !m.contains_key("Resource") && !m.contains_key("NotResource");
    let (resources, not_resource) = match scope {
        Scope::Identity if only_admin && no_resource => (vec!["*".to_string()], false),
        Scope::Trust if no_resource => (vec!["*".to_string()], false),
        _ => {
            let (resources, not_resource) = one_of(m, "Resource", "NotResource")?;
            (strings(resources, "Resource")?, not_resource)
        }
    };
    for r in &resources {
        let valid = match scope {
            Scope::Bucket(bucket) => r
                .strip_prefix(ARN_PREFIX)
                .is_some_and(|rest| in_bucket(rest, bucket)),
            Scope::Identity | Scope::Trust => r == "*" || r.starts_with("arn:"),
        };
        if !valid {
            return Err(PolicyError::new(match scope {
                Scope::Bucket(_) => format!(
                    "Policy has invalid resource {r:?}: it must name this bucket or its objects"
                ),
                Scope::Identity | Scope::Trust => format!("Policy has invalid resource {r:?}"),
            }));
        }
    }
    let mut conditions = Vec::new();
    match m.get("Condition") {
        None => {}
        Some(Value::Object(ops)) => {
            for (op, keys) in ops {
                conditions.extend(Condition::parse_block(op, keys)?);
            }
        }
        Some(_) => return Err(PolicyError::new("Condition must be an object")),
    }
    Ok(Statement {
        allow,
        principal,
        not_principal,
        actions,
        not_action,
        resources,
        not_resource,
        conditions,
    })
}

/// Exactly one of `name` and `not_name`: its value, and whether it was the negated one.
fn one_of<'a>(
    m: &'a Map<String, Value>,
    name: &str,
    not_name: &str,
) -> Result<(&'a Value, bool), PolicyError> {
    match (m.get(name), m.get(not_name)) {
        (Some(v), None) => Ok((v, false)),
        (None, Some(v)) => Ok((v, true)),
        (None, None) => Err(PolicyError::new(format!("missing {name}"))),
        (Some(_), Some(_)) => Err(PolicyError::new(format!("both {name} and {not_name}"))),
    }
}

/// `service:action` with a service of letters, digits and dashes and a non-empty action.
fn is_service_action(a: &str) -> bool {
    a.split_once(':').is_some_and(|(service, action)| {
        !service.is_empty()
            && service
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !action.is_empty()
    })
}

/// The largest bucket policy S3 accepts: 20 KiB.
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

impl Policy {
    /// Parses and validates the policy document of `bucket`: at most [`MAX_POLICY_BYTES`],
    /// JSON, the known fields, an `Effect`, a principal, actions and resources of this bucket
    /// in every statement.
    pub fn parse(json: &str, bucket: &str) -> Result<Policy, PolicyError> {
        Self::parse_in(json, Scope::Bucket(bucket))
    }

    /// Parses and validates an identity policy (a user's, group's, role's or session's; see
    /// [`Scope::Identity`]); the same size limit, fields and conditions as a bucket policy.
    pub fn parse_identity(json: &str) -> Result<Policy, PolicyError> {
        Self::parse_in(json, Scope::Identity)
    }

    /// Parses and validates a role's trust policy (see [`Scope::Trust`]).
    pub fn parse_trust(json: &str) -> Result<Policy, PolicyError> {
        Self::parse_in(json, Scope::Trust)
    }

    fn parse_in(json: &str, scope: Scope<'_>) -> Result<Policy, PolicyError> {
        if json.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::new("Policies must be less than 20 KB"));
        }
        let doc: Value = serde_json::from_str(json)
            .map_err(|e| PolicyError::new(format!("the policy is not valid JSON: {e}")))?;
        let Value::Object(m) = &doc else {
            return Err(PolicyError::new("the policy must be a JSON object"));
        };
        if let Some(unknown) = m
            .keys()
            .find(|k| !["Version", "Id", "Statement"].contains(&k.as_str()))
        {
            return Err(PolicyError::new(format!(
                "unknown field {unknown} in the policy"
            )));
        }
        let variables = match m.get("Version") {
            None => false,
            Some(Value::String(v)) if v == "2012-10-17" => true,
            Some(Value::String(v)) if v == "2008-10-17" => false,
            Some(_) => return Err(PolicyError::new("invalid policy Version")),
        };
        let statements = match m.get("Statement") {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .map(|s| parse_statement(s, scope))
                .collect::<Result<_, _>>()?,
            Some(s @ Value::Object(_)) => vec![parse_statement(s, scope)?],
            _ => return Err(PolicyError::new("missing Statement")),
        };
        // IAM refuses two statements with one Sid (bucket policies keep S3's leniency).
        if !matches!(scope, Scope::Bucket(_))
            && let Some(Value::Array(list)) = m.get("Statement")
        {
            let mut sids: Vec<&str> = list
                .iter()
                .filter_map(|st| st.get("Sid").and_then(Value::as_str))
                .collect();
            let n = sids.len();
            sids.sort_unstable();
            sids.dedup();
            if sids.len() != n {
                return Err(PolicyError::new(
                    "Statement IDs (SID) in a single policy must be unique",
                ));
            }
        }
        Ok(Policy {
            statements,
            variables,
        })
    }

    /// The policy's decision on `req`.
    pub fn evaluate(&self, req: &Request<'_>) -> Decision {
        let mut allowed = false;
        for s in self
            .statements
            .iter()
            .filter(|s| s.applies(req, self.variables))
        {
            if !s.allow {
                return Decision::Deny;
            }
            allowed = true;
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NotApplicable
        }
    }

    /// Whether some request of `caller` for one of `actions` could be allowed by the policy,
    /// whatever its resource and conditions (an over-approximation: `false` means no such
    /// request is ever allowed). Lets a check refuse before reading a request's body.
    pub fn may_allow(&self, caller: Option<Caller<'_>>, actions: &[&str]) -> bool {
        self.statements.iter().any(|s| {
            s.allow
                && s.principal.names(caller) != s.not_principal
                && (s.not_action
                    || s.actions
                        .iter()
                        .any(|a| actions.iter().any(|x| wildcard::matches_ignore_case(a, x))))
        })
    }

    /// Whether the policy grants anyone at all access (GetBucketPolicyStatus `IsPublic`).
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(Statement::is_public)
    }

    /// Whether any condition reads a key starting with `prefix` (compared ignoring case), so
    /// the caller knows whether it must look it up (e.g. `s3:ExistingObjectTag/`).
    pub fn uses_key(&self, prefix: &str) -> bool {
        self.statements.iter().any(|s| {
            s.conditions
                .iter()
                .any(|c| c.key().to_ascii_lowercase().starts_with(prefix))
        })
    }
}

#[cfg(test)]
mod may_allow_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn may_allow_ignores_resources_and_conditions_only() {
        let p = |st: Value| {
            let doc = json!({"Version": "2012-10-17", "Statement": st});
            Policy::parse(&doc.to_string(), "bkt").expect("valid policy")
        };
        let alt = Caller {
            id: "alt",
            access_key: "ALT",
            display_name: "alt",
            account: "alt",
        };
        let del = ["s3:DeleteObject", "s3:DeleteObjectVersion"];
        let public = p(
            json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:Delete*",
            "Resource": "arn:aws:s3:::bkt/tmp/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]),
        );
        assert!(public.may_allow(None, &del));
        assert!(!public.may_allow(None, &["s3:PutObjectTagging"]));
        let alt_only = p(json!([{"Effect": "Allow", "Principal": {"AWS": "alt"},
            "Action": "s3:*", "Resource": "arn:aws:s3:::bkt/*"}]));
        assert!(!alt_only.may_allow(None, &del));
        assert!(alt_only.may_allow(Some(alt), &del));
        let deny_only = p(
            json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": "arn:aws:s3:::bkt/*"}]),
        );
        assert!(!deny_only.may_allow(None, &del));
        let not_action = p(json!([{"Effect": "Allow", "Principal": "*",
            "NotAction": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}]));
        assert!(not_action.may_allow(None, &del));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALT: Caller<'static> = Caller {
        id: "56789abc",
        access_key: "ALTKEY",
        display_name: "john.doe",
        account: "56789abc",
    };

    fn policy(statements: Value) -> Policy {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        Policy::parse(&doc.to_string(), "bkt").expect("valid policy")
    }

    fn decide(
        p: &Policy,
        caller: Option<Caller<'_>>,
        action: &str,
        res: &str,
        ctx: &Context,
    ) -> Decision {
        p.evaluate(&Request {
            caller,
            action,
            resource: res,
            context: ctx,
        })
    }

    #[test]
    fn parses_and_validates() {
        let ok = |v: Value| Policy::parse(&v.to_string(), "bkt");
        let st = |extra: Value| {
            let mut s = json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::bkt/*"});
            for (k, v) in extra.as_object().unwrap() {
                if v.is_null() {
                    s.as_object_mut().unwrap().remove(k);
                } else {
                    s[k] = v.clone();
                }
            }
            json!({"Version": "2012-10-17", "Statement": [s]})
        };
        assert!(ok(st(json!({}))).is_ok());
        assert!(Policy::parse("{not json", "bkt").is_err());
        let huge = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": "*", "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::bkt/{}", "x".repeat(MAX_POLICY_BYTES))}]});
        assert!(ok(huge).is_err());
        assert!(ok(json!({"Version": "2012-10-17"})).is_err());
        assert!(ok(json!({"Statement": [], "Version": "2012-10-17"})).is_err());
        assert!(ok(json!({"Statement": {}, "Bogus": 1})).is_err());
        assert!(ok(st(json!({"Effect": "Maybe"}))).is_err());
        assert!(ok(st(json!({"Effect": null}))).is_err());
        assert!(ok(st(json!({"Principal": null}))).is_err());
        assert!(ok(st(json!({"Principal": "someone"}))).is_err());
        assert!(ok(st(json!({"Principal": null, "NotPrincipal": {"AWS": "x"}}))).is_err());
        assert!(ok(st(json!({"Action": null}))).is_err());
        assert!(ok(st(json!({"Action": "iam:CreateUser"}))).is_err());
        assert!(ok(st(json!({"Resource": null}))).is_err());
        assert!(ok(st(json!({"Resource": "arn:aws:s3:::other/*"}))).is_err());
        assert!(ok(st(json!({"Resource": "arn:aws:s3:::bktx"}))).is_err());
        assert!(
            ok(st(
                json!({"Resource": ["arn:aws:s3:::*", "arn:aws:s3:::*/*"]})
            ))
            .is_ok()
        );
        assert!(ok(st(json!({"Resource": "arn:aws:s3:::bk*"}))).is_ok());
        assert!(ok(st(json!({"Resource": "arn:aws:s3:::bkt"}))).is_ok());
        assert!(ok(st(json!({"Condition": {"Bogus": {"k": "v"}}}))).is_err());
        assert!(ok(st(json!({"Condition": "x"}))).is_err());
        assert!(ok(st(json!({"Extra": "x"}))).is_err());
        assert!(
            ok(st(
                json!({"Principal": {"AWS": "arn:aws:iam::s3tenant1:root"}})
            ))
            .is_ok()
        );
    }

    #[test]
    fn principals_name_our_users() {
        let ctx = Context::default();
        let get = |p: &Policy, c| decide(p, c, "s3:GetObject", "arn:aws:s3:::bkt/k", &ctx);
        let any = policy(json!([{"Effect": "Allow", "Principal": {"AWS": ["*"]},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}]));
        assert_eq!(get(&any, None), Decision::Allow);
        assert_eq!(get(&any, Some(ALT)), Decision::Allow);
        for name in [
            "arn:aws:iam::acct:user/john.doe",
            "arn:aws:iam:::user/ALTKEY",
            "56789abc",
            "arn:aws:iam::56789abc:root",
        ] {
            let p = policy(json!([{"Effect": "Allow", "Principal": {"AWS": [name]},
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}]));
            assert_eq!(get(&p, Some(ALT)), Decision::Allow, "{name}");
            assert_eq!(get(&p, None), Decision::NotApplicable, "{name}");
        }
        let tenant = Caller {
            id: "testx$9876",
            access_key: "T",
            display_name: "t",
            account: "testx$9876",
        };
        let p = policy(
            json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::testx:user/9876"},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}]),
        );
        assert_eq!(get(&p, Some(tenant)), Decision::Allow);
        assert_eq!(get(&p, Some(ALT)), Decision::NotApplicable);
        let not = policy(
            json!([{"Effect": "Deny", "NotPrincipal": {"AWS": "56789abc"},
            "Action": "s3:*", "Resource": "arn:aws:s3:::bkt/*"}]),
        );
        assert_eq!(get(&not, Some(ALT)), Decision::NotApplicable);
        assert_eq!(get(&not, None), Decision::Deny);
    }

    #[test]
    fn actions_and_resources_with_wildcards() {
        let ctx = Context::default();
        let p = policy(
            json!([{"Effect": "Allow", "Principal": "*", "Action": ["s3:Get*", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/public/*"]}]),
        );
        let d = |a, r| decide(&p, None, a, r, &ctx);
        assert_eq!(
            d("s3:GetObject", "arn:aws:s3:::bkt/public/x"),
            Decision::Allow
        );
        assert_eq!(
            d("s3:GetObjectTagging", "arn:aws:s3:::bkt/public/x"),
            Decision::Allow
        );
        assert_eq!(
            d("s3:GetObject", "arn:aws:s3:::bkt/private/x"),
            Decision::NotApplicable
        );
        assert_eq!(
            d("s3:PutObject", "arn:aws:s3:::bkt/public/x"),
            Decision::NotApplicable
        );
        assert_eq!(d("s3:ListBucket", "arn:aws:s3:::bkt"), Decision::Allow);
        assert_eq!(
            d("s3:ListBucket", "arn:aws:s3:::bkt/public/x"),
            Decision::Allow
        );
        assert_eq!(
            d("s3:ListBucket", "arn:aws:s3:::other"),
            Decision::NotApplicable
        );
        let p = policy(
            json!([{"Effect": "Allow", "Principal": "*", "NotAction": "s3:Delete*",
            "NotResource": "arn:aws:s3:::bkt/secret/*"}]),
        );
        let d = |a, r| decide(&p, None, a, r, &ctx);
        assert_eq!(d("s3:PutObject", "arn:aws:s3:::bkt/a"), Decision::Allow);
        assert_eq!(
            d("s3:DeleteObject", "arn:aws:s3:::bkt/a"),
            Decision::NotApplicable
        );
        assert_eq!(
            d("s3:PutObject", "arn:aws:s3:::bkt/secret/a"),
            Decision::NotApplicable
        );
    }

    #[test]
    fn explicit_deny_wins() {
        let p = policy(json!([
            {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bkt/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bkt/*",
             "Condition": {"StringLike": {"s3:x-amz-acl": "public*"}}}
        ]));
        let mut ctx = Context::default();
        let d = |ctx: &Context| decide(&p, Some(ALT), "s3:PutObject", "arn:aws:s3:::bkt/k", ctx);
        assert_eq!(d(&ctx), Decision::Allow);
        ctx.set("s3:x-amz-acl", "public-read");
        assert_eq!(d(&ctx), Decision::Deny);
        ctx.set("s3:x-amz-acl", "private");
        assert_eq!(d(&ctx), Decision::Allow);
    }

    #[test]
    fn conditions_all_hold() {
        let p = policy(
            json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::bkt",
            "Condition": {"StringLike": {"s3:prefix": "public/*"}, "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}]),
        );
        let mut ctx = Context::default();
        ctx.set("s3:prefix", "public/a");
        ctx.set("aws:SourceIp", "127.0.0.1");
        let d = |ctx: &Context| decide(&p, None, "s3:ListBucket", "arn:aws:s3:::bkt", ctx);
        assert_eq!(d(&ctx), Decision::Allow);
        ctx.set("aws:SourceIp", "10.0.0.1");
        assert_eq!(d(&ctx), Decision::NotApplicable);
    }

    #[test]
    fn policy_variables_in_resources() {
        let p = policy(
            json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
            "Resource": "arn:aws:s3:::bkt/home/${aws:username}/*"}]),
        );
        let mut ctx = Context::default();
        let d = |ctx: &Context, key: &str| {
            decide(
                &p,
                Some(ALT),
                "s3:GetObject",
                &format!("arn:aws:s3:::bkt/{key}"),
                ctx,
            )
        };
        assert_eq!(d(&ctx, "home/john.doe/a"), Decision::NotApplicable);
        ctx.set("aws:username", "john.doe");
        assert_eq!(d(&ctx, "home/john.doe/a"), Decision::Allow);
        assert_eq!(d(&ctx, "home/other/a"), Decision::NotApplicable);
    }

    #[test]
    fn public_policies() {
        let st = |principal: Value, cond: Value| {
            let mut s = json!({"Effect": "Allow", "Principal": principal, "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::bkt"});
            if !cond.is_null() {
                s["Condition"] = cond;
            }
            policy(json!([s]))
        };
        assert!(st(json!({"AWS": "*"}), Value::Null).is_public());
        assert!(st(json!("*"), json!({"StringLike": {"s3:prefix": "p/*"}})).is_public());
        assert!(
            !st(
                json!("*"),
                json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/32"}})
            )
            .is_public()
        );
        assert!(!st(json!({"AWS": "arn:aws:iam::s3tenant1:root"}), Value::Null).is_public());
        let deny = policy(
            json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": "arn:aws:s3:::bkt"}]),
        );
        assert!(!deny.is_public());
    }

    #[test]
    fn knows_which_keys_it_reads() {
        let p = policy(
            json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bkt/*",
            "Condition": {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}}]),
        );
        assert!(p.uses_key("s3:existingobjecttag/"));
        assert!(!p.uses_key("s3:requestobjecttag/"));
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;

    #[test]
    fn identity_policies_name_no_principal_and_any_service() {
        let ok = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["s3:GetObject","iam:CreateUser"],"Resource":["arn:aws:s3:::b/*","arn:aws:iam:::user/*"]},
            {"Effect":"Allow","Action":"admin:*"}]}"#;
        let p = Policy::parse_identity(ok).unwrap();
        let ctx = Context::default();
        let req = |action, resource| Request {
            caller: None,
            action,
            resource,
            context: &ctx,
        };
        assert_eq!(
            p.evaluate(&req("s3:GetObject", "arn:aws:s3:::b/k")),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(&req("s3:GetObject", "arn:aws:s3:::c/k")),
            Decision::NotApplicable
        );
        assert_eq!(p.evaluate(&req("admin:ServerInfo", "*")), Decision::Allow);
        // A principal, an S3 statement without a resource, a bad action: refused.
        for bad in [
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"getobject","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}]}"#,
        ] {
            assert!(Policy::parse_identity(bad).is_err(), "{bad}");
        }
        // A trust policy names who may assume the role.
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/bob"]},"Action":"sts:AssumeRole"}]}"#;
        let t = Policy::parse_trust(trust).unwrap();
        let bob = Caller {
            id: "arn:aws:iam:::user/bob",
            access_key: "AK",
            display_name: "bob",
            account: "root-id",
        };
        let assume = |caller| Request {
            caller: Some(caller),
            action: "sts:AssumeRole",
            resource: "arn:aws:iam:::role/r",
            context: &ctx,
        };
        assert_eq!(t.evaluate(&assume(bob)), Decision::Allow);
        let eve = Caller {
            display_name: "eve",
            id: "arn:aws:iam:::user/eve",
            ..bob
        };
        assert_eq!(t.evaluate(&assume(eve)), Decision::NotApplicable);
        assert!(
            Policy::parse_trust(r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#)
                .is_err()
        );
    }
}
