//! The `Condition` block of a policy statement: operators (with the `IfExists` suffix and the
//! `ForAnyValue:`/`ForAllValues:` qualifiers) over the request's condition keys.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{PolicyError, wildcard};

/// The request's condition keys and their values (`aws:SourceIp`, `s3:prefix`,
/// `s3:ExistingObjectTag/<tag>`, ...). Key names compare case-insensitively, the part after
/// the first `/` (a tag key) exactly, as in IAM. A key that is absent has no entry.
#[derive(Debug, Clone, Default)]
pub struct Context {
    values: HashMap<String, Vec<String>>,
}

fn normalize(key: &str) -> String {
    match key.split_once('/') {
        Some((name, rest)) => format!("{}/{rest}", name.to_ascii_lowercase()),
        None => key.to_ascii_lowercase(),
    }
}

impl Context {
    /// Sets a single-valued key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(normalize(key), vec![value.into()]);
    }

    /// Sets a multi-valued key (such as `s3:RequestObjectTagKeys`).
    pub fn set_all(&mut self, key: &str, values: Vec<String>) {
        self.values.insert(normalize(key), values);
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values.get(&normalize(key)).map(Vec::as_slice)
    }
}

/// Replaces the policy variables in `text` (`${aws:username}`, `${s3:prefix}`, `${*}`, `${?}`,
/// `${$}`, `${key, 'default'}`) with the request's values. `None` when a variable has no value
/// and no default: what names it then matches nothing.
pub(crate) fn substitute<'a>(text: &'a str, ctx: &Context) -> Option<Cow<'a, str>> {
    if !text.contains("${") {
        return Some(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            // An unterminated `${` is literal text.
            out.push_str(&rest[start..]);
            return Some(Cow::Owned(out));
        };
        let (name, default) = match after[..end].split_once(',') {
            Some((n, d)) => (n.trim(), Some(d.trim().trim_matches('\''))),
            None => (after[..end].trim(), None),
        };
        match name {
            "*" | "?" | "$" => out.push_str(name),
            _ => match ctx.get(name).and_then(<[String]>::first) {
                Some(v) => out.push_str(v),
                None => out.push_str(default?),
            },
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// What an operator tests, before negation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

/// One operator applied to one key, with the values the policy gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    test: Test,
    negated: bool,
    if_exists: bool,
    qualifier: Qualifier,
    /// As written in the policy (see [`Context`] for how it compares).
    key: String,
    values: Vec<String>,
}

fn operator(name: &str) -> Option<(Test, bool)> {
    use Cmp::*;
    Some(match name {
        "StringEquals" => (Test::StringEquals, false),
        "StringNotEquals" => (Test::StringEquals, true),
        "StringEqualsIgnoreCase" => (Test::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Test::StringEqualsIgnoreCase, true),
        "StringLike" | "ArnLike" | "ArnEquals" => (Test::StringLike, false),
        "StringNotLike" | "ArnNotLike" | "ArnNotEquals" => (Test::StringLike, true),
        "NumericEquals" => (Test::Numeric(Eq), false),
        "NumericNotEquals" => (Test::Numeric(Eq), true),
        "NumericLessThan" => (Test::Numeric(Lt), false),
        "NumericLessThanEquals" => (Test::Numeric(Le), false),
        "NumericGreaterThan" => (Test::Numeric(Gt), false),
        "NumericGreaterThanEquals" => (Test::Numeric(Ge), false),
        "DateEquals" => (Test::Date(Eq), false),
        "DateNotEquals" => (Test::Date(Eq), true),
        "DateLessThan" => (Test::Date(Lt), false),
        "DateLessThanEquals" => (Test::Date(Le), false),
        "DateGreaterThan" => (Test::Date(Gt), false),
        "DateGreaterThanEquals" => (Test::Date(Ge), false),
        "Bool" => (Test::Bool, false),
        "BinaryEquals" => (Test::Binary, false),
        "IpAddress" => (Test::Ip, false),
        "NotIpAddress" => (Test::Ip, true),
        "Null" => (Test::Null, false),
        _ => return None,
    })
}

/// A policy value as a string: JSON strings as they are, numbers and booleans as written.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A date as IAM writes it (ISO 8601 / RFC 3339) or as epoch seconds.
fn parse_date(s: &str) -> Option<i128> {
    if let Ok(secs) = s.trim().parse::<i64>() {
        return Some(i128::from(secs) * 1_000_000_000);
    }
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}

/// A CIDR block, or one address standing for itself.
fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

impl Condition {
    /// Parses one `"Operator": {"key": value-or-values, ...}` entry of a `Condition` block.
    pub(crate) fn parse_block(op: &str, keys: &Value) -> Result<Vec<Condition>, PolicyError> {
        let (qualifier, rest) = if let Some(r) = op.strip_prefix("ForAnyValue:") {
            (Qualifier::ForAnyValue, r)
        } else if let Some(r) = op.strip_prefix("ForAllValues:") {
            (Qualifier::ForAllValues, r)
        } else {
            (Qualifier::Single, op)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        let (test, negated) = operator(base)
            .ok_or_else(|| PolicyError::new(format!("unknown condition operator {op}")))?;
        if test == Test::Null && (if_exists || qualifier != Qualifier::Single) {
            return Err(PolicyError::new(format!("invalid condition operator {op}")));
        }
        let Value::Object(keys) = keys else {
            return Err(PolicyError::new(format!(
                "condition {op} must map keys to values"
            )));
        };
        let mut out = Vec::with_capacity(keys.len());
        for (key, v) in keys {
            if key.is_empty() {
                return Err(PolicyError::new("empty condition key"));
            }
            let values: Vec<String> = match v {
                Value::Array(a) => a.iter().map(scalar).collect::<Option<_>>(),
                v => scalar(v).map(|s| vec![s]),
            }
            .ok_or_else(|| PolicyError::new(format!("invalid value for condition key {key}")))?;
            if values.is_empty() {
                return Err(PolicyError::new(format!(
                    "no value for condition key {key}"
                )));
            }
            let valid = |s: &String| match test {
                Test::Numeric(_) => parse_number(s).is_some(),
                Test::Date(_) => parse_date(s).is_some(),
                Test::Ip => parse_net(s).is_some(),
                Test::Bool | Test::Null => {
                    s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
                }
                _ => true,
            };
            if let Some(bad) = values.iter().find(|s| !valid(s)) {
                return Err(PolicyError::new(format!(
                    "invalid value {bad:?} for {op} {key}"
                )));
            }
            out.push(Condition {
                test,
                negated,
                if_exists,
                qualifier,
                key: key.clone(),
                values,
            });
        }
        Ok(out)
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// Whether the policy value `policy` is satisfied by the request value `request` (before
    /// negation).
    fn test_one(&self, policy: &str, request: &str) -> bool {
        match self.test {
            Test::StringEquals | Test::Binary => policy == request,
            Test::StringEqualsIgnoreCase => policy.to_lowercase() == request.to_lowercase(),
            Test::StringLike => wildcard::matches(policy, request),
            Test::Numeric(c) => match (parse_number(request), parse_number(policy)) {
                (Some(r), Some(p)) => c.holds(r, p),
                _ => false,
            },
            Test::Date(c) => match (parse_date(request), parse_date(policy)) {
                (Some(r), Some(p)) => c.holds(r, p),
                _ => false,
            },
            Test::Bool => policy.eq_ignore_ascii_case(request),
            Test::Ip => match (parse_net(policy), request.trim().parse::<IpAddr>()) {
                (Some(net), Ok(addr)) => net.contains(&addr),
                _ => false,
            },
            Test::Null => false,
        }
    }

    /// Evaluates the condition against the request's keys; `vars`: the policy's values may
    /// hold policy variables (version 2012-10-17).
    pub(crate) fn holds(&self, ctx: &Context, vars: bool) -> bool {
        let request = ctx.get(&self.key).filter(|v| !v.is_empty());
        if self.test == Test::Null {
            let absent = request.is_none();
            return self
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case("true") == absent);
        }
        let Some(request) = request else {
            // A missing key: `IfExists` and `ForAllValues` hold vacuously, negated operators
            // hold (nothing equals the policy's values), the others do not.
            return self.if_exists
                || self.qualifier == Qualifier::ForAllValues
                || (self.negated && self.qualifier == Qualifier::Single);
        };
        let values: Vec<Cow<'_, str>> = if vars {
            self.values
                .iter()
                .filter_map(|v| substitute(v, ctx))
                .collect()
        } else {
            self.values
                .iter()
                .map(|v| Cow::Borrowed(v.as_str()))
                .collect()
        };
        let matches = |r: &String| values.iter().any(|p| self.test_one(p, r)) != self.negated;
        match self.qualifier {
            Qualifier::ForAnyValue => request.iter().any(matches),
            Qualifier::ForAllValues => request.iter().all(matches),
            // A negated operator holds when no request value matches any policy value.
            Qualifier::Single if self.negated => request.iter().all(matches),
            Qualifier::Single => request.iter().any(matches),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    impl Condition {
        fn holds_v(&self, ctx: &Context) -> bool {
            self.holds(ctx, true)
        }
    }

    fn cond(op: &str, key: &str, v: Value) -> Condition {
        let mut c = Condition::parse_block(op, &json!({ key: v })).expect("valid condition");
        c.remove(0)
    }

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        let mut c = Context::default();
        for (k, v) in pairs {
            c.set(k, *v);
        }
        c
    }

    #[test]
    fn string_operators() {
        let c = cond(
            "StringEquals",
            "s3:x-amz-acl",
            json!(["private", "bucket-owner-read"]),
        );
        assert!(c.holds_v(&ctx(&[("s3:x-amz-acl", "private")])));
        assert!(!c.holds_v(&ctx(&[("s3:x-amz-acl", "public-read")])));
        assert!(!c.holds_v(&ctx(&[])));
        let c = cond("StringNotEquals", "s3:x-amz-acl", json!(["private", "x"]));
        assert!(!c.holds_v(&ctx(&[("s3:x-amz-acl", "private")])));
        assert!(c.holds_v(&ctx(&[("s3:x-amz-acl", "public-read")])));
        assert!(
            c.holds_v(&ctx(&[])),
            "a negated operator holds for a missing key"
        );
        let c = cond("StringLike", "s3:prefix", json!("public/*"));
        assert!(c.holds_v(&ctx(&[("s3:prefix", "public/a")])));
        assert!(!c.holds_v(&ctx(&[("s3:prefix", "private/a")])));
        let c = cond("StringNotLike", "s3:prefix", json!("public/*"));
        assert!(c.holds_v(&ctx(&[("s3:prefix", "private/a")])));
        let c = cond("StringEqualsIgnoreCase", "aws:username", json!("Alice"));
        assert!(c.holds_v(&ctx(&[("aws:username", "aLiCe")])));
        let c = cond("StringNotEqualsIgnoreCase", "aws:username", json!("Alice"));
        assert!(!c.holds_v(&ctx(&[("aws:username", "ALICE")])));
    }

    #[test]
    fn keys_compare_case_insensitively_but_tag_keys_exactly() {
        let c = cond(
            "StringEquals",
            "S3:ExistingObjectTag/Security",
            json!("public"),
        );
        assert!(c.holds_v(&ctx(&[("s3:existingobjecttag/Security", "public")])));
        assert!(!c.holds_v(&ctx(&[("s3:ExistingObjectTag/security", "public")])));
    }

    #[test]
    fn if_exists_and_null() {
        let c = cond(
            "StringLikeIfExists",
            "aws:Referer",
            json!("http://www.example.com/*"),
        );
        assert!(c.holds_v(&ctx(&[])));
        assert!(c.holds_v(&ctx(&[("aws:Referer", "http://www.example.com/x")])));
        assert!(!c.holds_v(&ctx(&[("aws:Referer", "http://example.com")])));
        let c = cond("Null", "s3:x-amz-server-side-encryption", json!("true"));
        assert!(c.holds_v(&ctx(&[])));
        assert!(!c.holds_v(&ctx(&[("s3:x-amz-server-side-encryption", "AES256")])));
        let c = cond("Null", "s3:x-amz-server-side-encryption", json!("false"));
        assert!(!c.holds_v(&ctx(&[])));
    }

    #[test]
    fn numeric_date_bool_ip() {
        let c = cond("NumericLessThanEquals", "s3:max-keys", json!("10"));
        assert!(c.holds_v(&ctx(&[("s3:max-keys", "10")])));
        assert!(!c.holds_v(&ctx(&[("s3:max-keys", "11")])));
        let c = cond("NumericGreaterThan", "s3:max-keys", json!(5));
        assert!(c.holds_v(&ctx(&[("s3:max-keys", "6")])));
        assert!(!c.holds_v(&ctx(&[("s3:max-keys", "x")])));
        let c = cond(
            "DateLessThan",
            "aws:CurrentTime",
            json!("2030-01-01T00:00:00Z"),
        );
        assert!(c.holds_v(&ctx(&[("aws:CurrentTime", "2026-11-22T03:00:00Z")])));
        assert!(!c.holds_v(&ctx(&[("aws:CurrentTime", "2031-01-01T00:00:00Z")])));
        let c = cond("DateGreaterThanEquals", "aws:EpochTime", json!("1000"));
        assert!(c.holds_v(&ctx(&[("aws:EpochTime", "1000")])));
        let c = cond("Bool", "aws:SecureTransport", json!(false));
        assert!(c.holds_v(&ctx(&[("aws:SecureTransport", "false")])));
        assert!(!c.holds_v(&ctx(&[("aws:SecureTransport", "true")])));
        let c = cond("IpAddress", "aws:SourceIp", json!(["10.0.0.0/8", "::1"]));
        assert!(c.holds_v(&ctx(&[("aws:SourceIp", "10.1.2.3")])));
        assert!(c.holds_v(&ctx(&[("aws:SourceIp", "::1")])));
        assert!(!c.holds_v(&ctx(&[("aws:SourceIp", "127.0.0.1")])));
        let c = cond("NotIpAddress", "aws:SourceIp", json!("127.0.0.0/8"));
        assert!(!c.holds_v(&ctx(&[("aws:SourceIp", "127.0.0.1")])));
        assert!(c.holds_v(&ctx(&[("aws:SourceIp", "192.168.0.1")])));
    }

    #[test]
    fn set_qualifiers() {
        let mut c2 = Context::default();
        c2.set_all("s3:RequestObjectTagKeys", vec!["a".into(), "b".into()]);
        let any = cond(
            "ForAnyValue:StringEquals",
            "s3:RequestObjectTagKeys",
            json!(["b", "z"]),
        );
        assert!(any.holds_v(&c2));
        let all = cond(
            "ForAllValues:StringEquals",
            "s3:RequestObjectTagKeys",
            json!(["a", "z"]),
        );
        assert!(!all.holds_v(&c2));
        let all = cond(
            "ForAllValues:StringLike",
            "s3:RequestObjectTagKeys",
            json!(["?"]),
        );
        assert!(all.holds_v(&c2));
        assert!(
            all.holds_v(&Context::default()),
            "ForAllValues holds for no values"
        );
        assert!(
            !any.holds_v(&Context::default()),
            "ForAnyValue fails for no values"
        );
    }

    #[test]
    fn policy_variables() {
        let c = ctx(&[("aws:username", "alice"), ("s3:prefix", "home/alice/x")]);
        let sub = |t: &str| substitute(t, &c).map(Cow::into_owned);
        assert_eq!(
            sub("home/${aws:username}/*").as_deref(),
            Some("home/alice/*")
        );
        assert_eq!(sub("a${*}b${?}c${$}").as_deref(), Some("a*b?c$"));
        assert_eq!(sub("x/${aws:userid}"), None);
        assert_eq!(
            sub("x/${aws:userid, 'nobody'}").as_deref(),
            Some("x/nobody")
        );
        assert_eq!(sub("plain").as_deref(), Some("plain"));
        assert_eq!(sub("open ${").as_deref(), Some("open ${"));
        let k = cond("StringLike", "s3:prefix", json!("home/${aws:username}/*"));
        assert!(k.holds(&c, true));
        assert!(
            !k.holds(&c, false),
            "2008-10-17 policies take variables literally"
        );
    }

    #[test]
    fn bad_conditions_are_refused() {
        let parse = |op: &str, v: Value| Condition::parse_block(op, &v);
        assert!(parse("StringEqualz", json!({"k": "v"})).is_err());
        assert!(parse("NumericEquals", json!({"k": "ten"})).is_err());
        assert!(parse("IpAddress", json!({"aws:SourceIp": "10.0.0.0/99"})).is_err());
        assert!(parse("DateEquals", json!({"k": "yesterday"})).is_err());
        assert!(parse("Bool", json!({"k": "maybe"})).is_err());
        assert!(parse("StringEquals", json!({"k": []})).is_err());
        assert!(parse("StringEquals", json!({"k": {"x": 1}})).is_err());
        assert!(parse("StringEquals", json!("k")).is_err());
        assert!(parse("ForAnyValue:NullIfExists", json!({"k": "true"})).is_err());
    }
}
