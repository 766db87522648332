//! The log: `RUST_LOG` (default `info`) on stderr, as text or JSON lines (`--log-format`,
//! `RUSTFS_LOG_FORMAT`), without s3s' per-request error events. Each request's events carry its
//! id through the edge's request span (`rustfs_s3::edge`, `request{request_id=...}`).
//!
//! s3s logs every failed request at error level ("failed to prepare", "op returns error", its
//! request span's error), refusals and client mistakes included, and a malformed XML body
//! whole ("malformed xml body", the body's bytes). The edge logs each failed request once
//! instead, by what it means and without the body (`rustfs_s3::edge`), so those
//! events are dropped whatever `RUST_LOG` asks for; s3s' debug and trace events stay available.

use tracing::Metadata;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, FilterFn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
use crate::otel::{BoxedLayer, OtelGuard};

/// Whether an event is one of s3s' per-request error reports (see the module notes).
fn s3s_request_error(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    let from_s3s = target == "s3s" || target.starts_with("s3s::");
    from_s3s && (*meta.level() == tracing::Level::ERROR || target.starts_with("s3s::http::de"))
}

/// `RUST_LOG`'s filter (default `info`, s3s at `warn`).
fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,s3s=warn"))
}

/// Installs the log (and the OpenTelemetry export when an endpoint is set: `crate::otel`);
/// returns what stops that export.
pub fn init(
    format: LogFormat,
    runtime: &tokio::runtime::Handle,
) -> Result<Option<OtelGuard>, String> {
    let fmt: BoxedLayer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        // The event's fields at the top level beside `message`; the innermost span as `span`
        // and all of them, outermost (the request's) first, as `spans`: s3s' debug spans, when
        // `RUST_LOG` lets them through, sit inside the request's.
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let mut layers: Vec<BoxedLayer> = vec![
        fmt.with_filter(env_filter())
            .with_filter(FilterFn::new(|meta| !s3s_request_error(meta)))
            .boxed(),
    ];
    let otel = crate::otel::layer(runtime)?;
    let guard = otel.map(|(layer, guard)| {
        layers.push(layer.with_filter(env_filter()).boxed());
        guard
    });
    tracing_subscriber::registry().with(layers).init();
    crate::otel::report_ignored();
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;
    use tracing::callsite::Identifier;
    use tracing::field::FieldSet;
    use tracing::metadata::Kind;

    struct Site;
    impl tracing::Callsite for Site {
        fn set_interest(&self, _: tracing::subscriber::Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            unreachable!()
        }
    }
    static SITE: Site = Site;

    fn meta(target: &'static str, level: Level) -> Metadata<'static> {
        Metadata::new(
            "event",
            target,
            level,
            None,
            None,
            None,
            FieldSet::new(&[], Identifier(&SITE)),
            Kind::EVENT,
        )
    }

    #[test]
    fn s3s_request_errors_and_body_dumps_are_dropped() {
        assert!(s3s_request_error(&meta("s3s::ops", Level::ERROR)));
        assert!(s3s_request_error(&meta("s3s::service", Level::ERROR)));
        assert!(s3s_request_error(&meta("s3s::http::de", Level::DEBUG)));
        assert!(!s3s_request_error(&meta("s3s::ops", Level::DEBUG)));
        assert!(!s3s_request_error(&meta("s3s::ops", Level::WARN)));
        assert!(!s3s_request_error(&meta(
            "rustfs_s3::edge::failure_log",
            Level::ERROR
        )));
        assert!(!s3s_request_error(&meta("s3sx", Level::ERROR)));
    }
}
