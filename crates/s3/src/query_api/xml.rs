//! The query API's XML answers: `<ActionResponse xmlns=…><ActionResult>…</ActionResult>
//! <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></ActionResponse>`, lists as
//! `<Name><member>…</member></Name>`, and the `<ErrorResponse>` of a refusal.

use std::fmt::Write;

pub const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// An XML document written in order.
#[derive(Default)]
pub struct Xml {
    out: String,
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

impl Xml {
    pub fn open(&mut self, tag: &str) -> &mut Self {
        let _ = write!(self.out, "<{tag}>");
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        let _ = write!(self.out, "</{tag}>");
        self
    }

    /// `<tag>text</tag>`, the text escaped.
    pub fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        let _ = write!(self.out, "<{tag}>{}</{tag}>", escape(text));
        self
    }

    /// Escaped text inside the element being written (a list of plain `<member>` strings).
    pub fn leaf_text(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape(text));
        self
    }

    /// A leaf only when there is a value.
    pub fn opt(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(tag, t);
        }
        self
    }

    /// `<tag>` with a `<member>` written by `each` per item.
    pub fn list<T>(
        &mut self,
        tag: &str,
        items: &[T],
        mut each: impl FnMut(&mut Xml, &T),
    ) -> &mut Self {
        self.open(tag);
        for i in items {
            self.open("member");
            each(self, i);
            self.close("member");
        }
        self.close(tag)
    }

    pub fn into_string(self) -> String {
        self.out
    }
}

/// The whole answer to `action`, its result written by `result` (nothing for actions without
/// one).
pub fn response(ns: &str, action: &str, request_id: &str, result: Option<Xml>) -> String {
    let mut out =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><{action}Response xmlns="{ns}">"#);
    if let Some(r) = result {
        let _ = write!(out, "<{action}Result>{}</{action}Result>", r.into_string());
    }
    let _ = write!(
        out,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        escape(request_id)
    );
    out
}

/// The `<ErrorResponse>` of a refusal.
pub fn error(ns: &str, sender: bool, code: &str, message: &str, request_id: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ErrorResponse xmlns="{ns}"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>"#,
        if sender { "Sender" } else { "Receiver" },
        escape(code),
        escape(message),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_escaped_and_shaped_as_aws() {
        let mut x = Xml::default();
        x.open("User").leaf("UserName", "a<b&c").close("User");
        let r = response(IAM_NS, "GetUser", "rid", Some(x));
        assert!(
            r.contains("<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">")
        );
        assert!(r.contains(
            "<GetUserResult><User><UserName>a&lt;b&amp;c</UserName></User></GetUserResult>"
        ));
        assert!(r.ends_with(
            "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetUserResponse>"
        ));
        let e = error(IAM_NS, true, "NoSuchEntity", "no \"x\"", "r");
        assert!(e.contains(
            "<Type>Sender</Type><Code>NoSuchEntity</Code><Message>no &quot;x&quot;</Message>"
        ));
    }
}
