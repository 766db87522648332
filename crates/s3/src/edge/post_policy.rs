//! Which POST policy condition a browser form breaks. s3s 0.14 refuses such a form `400
//! InvalidPolicyDocument`, the code it also gives a policy that does not parse; S3 answers a
//! broken condition `403 AccessDenied` ("Invalid according to Policy"). The edge decides here,
//! before s3s and with s3s' own policy parser, whether a form breaks a condition, and replaces
//! s3s' answer only when s3s refused the form `InvalidPolicyDocument` and this says why.
//!
//! The conditions are walked as s3s walks them (in order; the first failure decides; a
//! `content-length-range` failure is s3s' `EntityTooLarge`/`EntityTooSmall`, not a broken
//! condition), after the SigV4 form checks s3s makes first (the policy's `eq` values for
//! `x-amz-date`, `x-amz-credential` and `x-amz-algorithm` must match the fields; otherwise s3s
//! refuses the form for that, and its answer stands).

use s3s::post_policy::{PostPolicy, PostPolicyCondition};

/// A form's fields as s3s sees them: lower-case names, the file excluded.
pub(crate) struct FormFields<'a> {
    fields: Vec<(String, &'a str)>,
}

impl<'a> FormFields<'a> {
    pub(crate) fn new(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            fields: fields
                .into_iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v))
                .collect(),
        }
    }

    /// The field's value; of several with the name, the last (as s3s' lookup finds it).
    fn value(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// What breaks the form's policy, in s3s' words, if a condition does (see the module notes).
/// `url_bucket`: the bucket the URL addresses.
pub(crate) fn broken_condition(
    fields: &FormFields<'_>,
    file_size: u64,
    url_bucket: Option<&str>,
) -> Option<String> {
    let policy = PostPolicy::from_base64(fields.value("policy")?).ok()?;
    if fields.value("x-amz-signature").is_some() {
        for name in ["x-amz-date", "x-amz-credential", "x-amz-algorithm"] {
            if eq_value(&policy, name) != fields.value(name) {
                return None;
            }
        }
    }
    for condition in &policy.conditions {
        match condition {
            PostPolicyCondition::Eq { field, value } => {
                let actual = match field_value(fields, field, url_bucket) {
                    Ok(v) => v,
                    Err(mismatch) => return Some(mismatch),
                };
                if actual != Some(value.as_str()) {
                    return Some(format!(
                        "Policy condition 'eq' for field '{field}' failed: expected '{value}', got '{}'",
                        actual.unwrap_or_default()
                    ));
                }
            }
            PostPolicyCondition::StartsWith { field, prefix } => {
                let actual = match field_value(fields, field, url_bucket) {
                    Ok(v) => v.unwrap_or_default(),
                    Err(mismatch) => return Some(mismatch),
                };
                if !actual.starts_with(prefix.as_str()) {
                    return Some(format!(
                        "Policy condition 'starts-with' for field '{field}' failed: expected prefix '{prefix}', got '{actual}'"
                    ));
                }
            }
            PostPolicyCondition::ContentLengthRange { min, max } => {
                if file_size > *max || file_size < *min {
                    return None;
                }
            }
        }
    }
    None
}

fn eq_value<'p>(policy: &'p PostPolicy, name: &str) -> Option<&'p str> {
    policy.conditions.iter().find_map(|c| match c {
        PostPolicyCondition::Eq { field, value } if field == name => Some(value.as_str()),
        _ => None,
    })
}

/// A field's value for a condition: the URL's bucket for `bucket` (a `bucket` field naming
/// another is itself a broken condition, the `Err`), else the form field.
fn field_value<'a>(
    fields: &FormFields<'a>,
    name: &str,
    url_bucket: Option<&'a str>,
) -> Result<Option<&'a str>, String> {
    if name == "bucket"
        && let Some(ub) = url_bucket
    {
        if let Some(fb) = fields.value("bucket")
            && fb != ub
        {
            return Err(format!(
                "Bucket in form field '{fb}' does not match bucket in URL '{ub}'"
            ));
        }
        return Ok(Some(ub));
    }
    Ok(fields.value(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(conditions: &str) -> String {
        let doc = format!(r#"{{"expiration":"2030-01-01T00:00:00Z","conditions":[{conditions}]}}"#);
        base64_simd::STANDARD.encode_to_string(doc)
    }

    fn broken(fields: &[(&str, &str)], size: u64) -> Option<String> {
        broken_condition(&FormFields::new(fields.iter().copied()), size, Some("bkt"))
    }

    #[test]
    fn the_first_broken_condition_is_named() {
        let p = policy(r#"["eq","$key","a"],["starts-with","$Content-Type","text/"]"#);
        assert_eq!(
            broken(
                &[("policy", &p), ("key", "a"), ("content-type", "text/x")],
                1
            ),
            None
        );
        let why = broken(&[("policy", &p), ("key", "b"), ("content-type", "x")], 1).unwrap();
        assert!(
            why.starts_with("Policy condition 'eq' for field 'key' failed"),
            "{why}"
        );
        let why = broken(&[("policy", &p), ("KEY", "a"), ("content-type", "x")], 1).unwrap();
        assert!(why.starts_with("Policy condition 'starts-with'"), "{why}");
    }

    #[test]
    fn the_bucket_is_the_urls() {
        let p = policy(r#"{"bucket":"bkt"}"#);
        assert_eq!(broken(&[("policy", &p)], 1), None);
        let why = broken(&[("policy", &p), ("bucket", "other")], 1).unwrap();
        assert!(why.starts_with("Bucket in form field 'other'"), "{why}");
    }

    #[test]
    fn what_s3s_refuses_otherwise_is_not_a_broken_condition() {
        // A length out of range is s3s' EntityTooLarge/EntityTooSmall, even before a broken
        // condition that follows it.
        let p = policy(r#"["content-length-range",1,2],["eq","$key","a"]"#);
        assert_eq!(broken(&[("policy", &p), ("key", "b")], 3), None);
        assert!(broken(&[("policy", &p), ("key", "b")], 2).is_some());
        // A policy that does not parse, or no policy.
        assert_eq!(broken(&[("policy", "!!"), ("key", "b")], 1), None);
        assert_eq!(broken(&[("key", "b")], 1), None);
        // A SigV4 form whose policy does not name its date: s3s refuses that first.
        let p = policy(r#"["eq","$key","a"],{"x-amz-algorithm":"AWS4-HMAC-SHA256"}"#);
        let v4 = [
            ("policy", p.as_str()),
            ("key", "b"),
            ("x-amz-signature", "s"),
            ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
            ("x-amz-date", "20300101T000000Z"),
        ];
        assert_eq!(broken(&v4, 1), None);
    }
}
