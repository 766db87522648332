//! OpenTelemetry export of the request spans (`rustfs_s3::edge`'s `request` span, with its
//! `request_id`, method and path, and the events inside it as span events), over OTLP/HTTP with
//! JSON bodies, to `RUSTFS_OTEL_ENDPOINT` (a collector's base URL: spans go to
//! `BASE/v1/traces`) or to the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_ENDPOINT`. Compiled with the `otel` feature; without it a set endpoint
//! is reported and ignored. Spans are batched by the SDK's own thread; each batch is posted by
//! hyper's client on the server's runtime, so nothing of it runs on the request path.

use std::time::Duration;

use tracing_subscriber::Registry;
use tracing_subscriber::layer::Layer;

/// Where spans go, if anywhere: `(endpoint to set, described)`; an endpoint of `None` leaves
/// the standard `OTEL_EXPORTER_OTLP_*` variables to the exporter.
pub fn configured() -> Option<(Option<String>, String)> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    if let Some(base) = var("RUSTFS_OTEL_ENDPOINT") {
        let base = base.trim().trim_end_matches('/').to_string();
        let url = if base.ends_with("/v1/traces") {
            base
        } else {
            format!("{base}/v1/traces")
        };
        return Some((Some(url.clone()), url));
    }
    var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .map(|e| (None, e))
}

/// How long one export may take.
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// What stops the exporter (flushing what it holds) when the server ends.
pub struct OtelGuard {
    #[cfg(feature = "otel")]
    provider: opentelemetry_sdk::trace::SdkTracerProvider,
}

impl OtelGuard {
    pub fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Err(e) = self.provider.shutdown() {
            eprintln!("rustfs: OpenTelemetry export did not stop cleanly: {e}");
        }
    }
}

pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The tracing layer exporting spans, if an endpoint is set (and the feature built).
#[cfg(not(feature = "otel"))]
pub fn layer(_runtime: &tokio::runtime::Handle) -> Result<Option<(BoxedLayer, OtelGuard)>, String> {
    Ok(None)
}

/// Says (in the log, once it is installed) that a set endpoint is ignored by this build.
pub fn report_ignored() {
    #[cfg(not(feature = "otel"))]
    if let Some((_, endpoint)) = configured() {
        tracing::warn!(
            endpoint,
            "an OpenTelemetry endpoint is set, but this build has no OpenTelemetry export (cargo feature `otel`); ignored"
        );
    }
}

#[cfg(feature = "otel")]
pub fn layer(runtime: &tokio::runtime::Handle) -> Result<Option<(BoxedLayer, OtelGuard)>, String> {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};

    let Some((endpoint, _)) = configured() else {
        return Ok(None);
    };
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(client::OtlpClient::new(runtime.clone())?);
    if let Some(url) = endpoint {
        builder = builder.with_endpoint(url);
    }
    let exporter = builder
        .build()
        .map_err(|e| format!("OpenTelemetry exporter: {e}"))?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("rustfs");
    }
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("rustfs");
    let layer = tracing_opentelemetry::layer().with_tracer(tracer).boxed();
    Ok(Some((layer, OtelGuard { provider })))
}

#[cfg(feature = "otel")]
mod client {
    //! The exporter's HTTP client: hyper's, run on the server's runtime (the SDK's batch
    //! thread has none of its own).

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use opentelemetry_http::{HttpClient, HttpError};

    type Inner = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

    #[derive(Clone)]
    pub struct OtlpClient {
        client: Inner,
        runtime: tokio::runtime::Handle,
    }

    impl std::fmt::Debug for OtlpClient {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("OtlpClient")
        }
    }

    impl OtlpClient {
        pub fn new(runtime: tokio::runtime::Handle) -> Result<Self, String> {
            let tls = rustfs_internode::tls_config(&[])
                .map_err(|e| format!("OpenTelemetry exporter: {e}"))?;
            // Built inside the runtime: the client's pool keeps a timer from it.
            let _in = runtime.enter();
            let client = rustfs_internode::http_client(&tls, std::time::Duration::from_secs(5));
            Ok(Self { client, runtime })
        }
    }

    #[async_trait::async_trait]
    impl HttpClient for OtlpClient {
        async fn send_bytes(
            &self,
            request: http::Request<Bytes>,
        ) -> Result<http::Response<Bytes>, HttpError> {
            let client = self.client.clone();
            let sent = self.runtime.spawn(async move {
                let resp = client.request(request.map(Full::new)).await?;
                let (head, body) = resp.into_parts();
                let body = body.collect().await?.to_bytes();
                Ok::<_, HttpError>(http::Response::from_parts(head, body))
            });
            sent.await?
        }
    }
}
