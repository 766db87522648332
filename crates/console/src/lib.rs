//! The web console's server side: what the console port (`--console-address`) answers.
//!
//! - `/api/s3/<rest>`: handed back to the caller as a request for `/<rest>` (query, headers
//!   and body untouched) to be served by the same S3 edge as the S3 port; the browser
//!   signs each request for the unprefixed path (`forward.rs`);
//! - `/api/config`: the JSON the front-end needs (`config.rs`);
//! - anything else: the front-end bundle embedded from `console/dist` (`assets.rs`), unknown
//!   paths answered with `index.html` (a single-page app).
//!
//! It must not know S3, storage or identities: the edge decides every S3 request, signature
//! included. It owns no listener; the binary (`crates/server`) binds the port and serves it.

mod assets;
mod config;
mod forward;
mod site;

pub use config::ConsoleConfig;
pub use forward::strip_api_prefix;
pub use site::{Console, Route};
