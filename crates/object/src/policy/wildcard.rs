//! IAM-style wildcards: `*` matches any run of characters (none included), `?` exactly one.

/// Whether `text` matches `pattern` (case-sensitive). Runs in O(len(pattern) × len(text)) at
/// worst: one backtrack point, the latest `*`, is enough for patterns with only `*` and `?`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // The latest `*` seen and the text position it is tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the `*` swallow one more character and retry.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// [`matches`] ignoring case (IAM action names compare this way).
pub fn matches_ignore_case(pattern: &str, text: &str) -> bool {
    matches(&pattern.to_lowercase(), &text.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("*", ""));
        assert!(matches("*", "anything/at/all"));
        assert!(matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/x"));
        assert!(!matches("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
        assert!(matches("public/*", "public/"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*.txt", "x.tar.txt"));
        assert!(!matches("*.txt", "x.txt.gz"));
        assert!(matches("a*b*c", "aXbYbZc"));
        assert!(!matches("a*b*c", "aXbYbZ"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "Exact"));
        assert!(matches("h?llo*", "héllo wörld"));
        assert!(matches("**a", "bba"));
    }

    #[test]
    fn case_insensitive_for_actions() {
        assert!(matches_ignore_case("s3:Get*", "s3:getobject"));
        assert!(matches_ignore_case("S3:*", "s3:PutObject"));
        assert!(!matches_ignore_case("s3:Get*", "s3:PutObject"));
    }

    #[test]
    fn long_inputs_stay_cheap() {
        let text = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!matches(&pattern, &text));
    }
}
