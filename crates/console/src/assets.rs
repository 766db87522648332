//! The front-end bundle built into `console/dist`, embedded in the binary.

use std::borrow::Cow;

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../console/dist"]
struct Dist;

/// One file of the bundle, ready to answer.
pub struct Asset {
    pub body: Cow<'static, [u8]>,
    pub content_type: String,
    pub cache_control: &'static str,
    /// A strong ETag from the content's SHA-256.
    pub etag: String,
}

/// Vite puts content-hashed files under `assets/`: they never change under their name.
const HASHED_DIR: &str = "assets/";
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const NO_CACHE: &str = "no-cache";

/// What a GET for `path` (the URI path, percent-encoded) answers: the file, `index.html`
/// for the single-page app's other paths, or `None` (a missing hashed asset: 404, not HTML
/// the browser would try to run).
pub fn lookup(path: &str) -> Option<Asset> {
    let name = path.trim_start_matches('/');
    let name = if name.is_empty() { "index.html" } else { name };
    if let Some(asset) = file(name) {
        return Some(asset);
    }
    if name.starts_with(HASHED_DIR) || name.contains("..") {
        return None;
    }
    file("index.html")
}

fn file(name: &str) -> Option<Asset> {
    let f = Dist::get(name)?;
    let hash = f.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let content_type = mime_guess::from_path(name)
        .first_raw()
        .map_or("application/octet-stream", |m| m)
        .to_string();
    let content_type =
        if content_type.starts_with("text/") || content_type == "application/javascript" {
            format!("{content_type}; charset=utf-8")
        } else {
            content_type
        };
    let cache_control = if name.starts_with(HASHED_DIR) {
        IMMUTABLE
    } else {
        NO_CACHE
    };
    Some(Asset {
        body: f.data,
        content_type,
        cache_control,
        etag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashed_asset(ext: &str) -> String {
        Dist::iter()
            .find(|n| n.starts_with(HASHED_DIR) && n.ends_with(ext))
            .map(|n| n.to_string())
            .expect("the committed bundle has a hashed asset of this kind")
    }

    #[test]
    fn index_is_served_for_the_root_and_unknown_paths() {
        for p in ["/", "", "/index.html", "/browse/b", "/some/deep/route"] {
            let a = lookup(p).expect("index.html");
            assert!(
                a.content_type.starts_with("text/html"),
                "{p}: {}",
                a.content_type
            );
            assert_eq!(a.cache_control, NO_CACHE);
            assert!(String::from_utf8_lossy(&a.body).contains("<div id=\"root\">"));
        }
    }

    #[test]
    fn hashed_assets_are_immutable_with_their_type() {
        let js = hashed_asset(".js");
        let a = lookup(&format!("/{js}")).expect("js asset");
        assert_eq!(a.content_type, "text/javascript; charset=utf-8");
        assert_eq!(a.cache_control, IMMUTABLE);
        let css = hashed_asset(".css");
        let a = lookup(&format!("/{css}")).expect("css asset");
        assert_eq!(a.content_type, "text/css; charset=utf-8");
        assert_eq!(a.etag.len(), 34);
    }

    #[test]
    fn a_missing_hashed_asset_is_not_found() {
        assert!(lookup("/assets/index-missing.js").is_none());
        assert!(lookup("/../Cargo.toml").is_none());
    }

    #[test]
    fn other_files_keep_their_type() {
        let a = lookup("/favicon.svg").expect("favicon");
        assert_eq!(a.content_type, "image/svg+xml");
        assert_eq!(a.cache_control, NO_CACHE);
    }
}
