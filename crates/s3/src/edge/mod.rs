//! The edge: everything done to a request before s3s sees it and to the answer after, in one
//! hyper service ([`Edge`]) wrapping s3s' `S3Service`. The binary hands it each connection's
//! requests and knows nothing else of S3.
//!
//! In request order (each workaround names the s3s 0.14 behaviour it covers, so it can go when
//! s3s changes):
//! 0. health checks and the metrics scrape endpoints are answered at once ([`operator`]), not
//!    as S3 requests;
//! 1. addressing: a path-style SigV2 bucket request reaches s3s as `/bucket/` ([`sigv2`]: s3s
//!    canonicalizes `/bucket` without the slash every client signs); a SigV4 request without
//!    `x-amz-date` gets its `Date` there ([`request_checks`]: s3s reads only `x-amz-date`);
//!    `Range` positions past `i64::MAX` are clamped ([`range_header`], re-signed through
//!    [`sigv4_resign`]: s3s refuses them with `400`); the connection's client address and TLS
//!    flag go into the request's extensions for the access checks;
//! 2. CORS ([`cors`]): a preflight `OPTIONS` is answered from the bucket's rules before
//!    anything else (s3s verifies signatures before any route, and a preflight carries none);
//! 3. refusals S3 makes before routing, as typed [`RequestError`]s: a SigV4 scope naming
//!    another region ([`region`]: s3s accepts any), a C1 control character in the path, a
//!    negative `X-Amz-Expires`, an empty `Content-MD5` ([`request_checks`]), a SigV2 request
//!    time that is missing or skewed ([`sigv2`]: s3s checks neither);
//! 4. bodies the server holds whole ([`buffered_body`]: one byte budget, the XML bound, a
//!    client that stops sending; s3s answers 500 for any body it failed to read): uploads sent
//!    without a length are read so s3s gets one ([`unsized_body`]: s3s refuses them `411`),
//!    browser forms are prepared ([`post_form`]: `${filename}`, `acl`/`tagging` fields, and
//!    which policy condition breaks, [`post_policy`]);
//! 5. s3s' `S3Service`;
//! 6. the answer: a held body's fault replaces s3s' 500; a broken form policy condition turns
//!    s3s' `400 InvalidPolicyDocument` into S3's `403 AccessDenied`; `Access-Control-*`
//!    headers for an allowed `Origin`; GetObjectAttributes' bare `<ETag>` and `<RequestId>`/
//!    `<HostId>` in error documents ([`answers`]: s3s quotes every ETag and writes neither
//!    element); `x-amz-request-id`, `x-amz-id-2`, `Server` on every answer; `Connection:
//!    close` after answering an `Expect: 100-continue` request without reading its body
//!    (hyper then sends no `100 Continue`, which RFC 9110 allows, but botocore keeps the final
//!    status it read as connection state and misparses the next response on the connection);
//!    one log line per failed request ([`failure_log`]);
//! 7. the request's record ([`observe`]): with sinks configured, the request body is counted
//!    as it is read and the answer's body as it is sent ([`counted_body`]); once the answer's
//!    body ends (or is dropped) every sink gets one [`observe::RequestRecord`], its API,
//!    bucket, key and caller taken from the request's [`OperationSlot`].
//!
//! Every S3 error code the edge answers comes from a [`RequestError`] through
//! `crate::errors::request`.

mod addressing;
mod answers;
mod buffered_body;
mod cors;
mod counted_body;
mod failure_log;
pub mod observe;
mod operator;
pub(crate) mod post_form;
mod post_policy;
mod range_header;
mod region;
mod request_checks;
mod request_error;
mod request_span;
mod sigv2;
pub(crate) mod sigv4_resign;
mod unsized_body;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use http::{HeaderValue, header};
use hyper::body::Incoming;
use rustfs_object::ObjectStore;
use s3s::service::{S3Service, S3ServiceBuilder};

use crate::access::{AccessControl, ClientInfo};
use crate::admin::AdminApi;
use crate::auth::Keyring;
use crate::host::Domains;
use crate::operation::OperationSlot;
use crate::query_api::QueryApi;
use crate::routes::RouteSet;
pub use buffered_body::DEFAULT_BUDGET_MIB;
use buffered_body::{BufferBudget, Guarded, Ledger, Reading, reading_of};
use cors::{Cors, CorsRequest};
use counted_body::{CountedIn, CountedOut};
use observe::Observation;
pub use request_error::RequestError;

type ServiceResult = Result<s3s::HttpResponse, s3s::HttpError>;

/// What the edge serves and how.
pub struct EdgeConfig {
    pub store: Arc<ObjectStore>,
    /// Every user (the root key pair first).
    pub keys: Keyring,
    /// The identity store behind `keys`, for the admin, IAM and STS APIs.
    pub identities: crate::identity::Identities,
    /// The region SigV4 scopes must name (`RUSTFS_REGION`; empty accepts any).
    pub region: String,
    /// Virtual-hosted-style domains (`RUSTFS_SERVER_DOMAINS`); none: path style only.
    pub domains: Option<Domains>,
    /// Bytes of request bodies held whole in memory at once (`buffered_body`).
    pub buffered_bytes: usize,
    /// Told about every request the edge answers ([`observe`]: metrics, the audit log).
    pub sinks: Vec<Arc<dyn observe::RequestSink>>,
    /// How scrapes of the metrics endpoints are authorized ([`operator`]).
    pub scrape_auth: crate::metrics::token::ScrapeAuth,
}

/// The S3 service as a hyper service: s3s' `S3Service` with the edge around it.
#[derive(Clone)]
pub struct Edge {
    inner: S3Service,
    cors: Arc<Cors>,
    next: Arc<AtomicU64>,
    host_id: HeaderValue,
    domains: Option<Domains>,
    /// The connection's client, handed to the access checks (`aws:SourceIp`).
    client: Option<ClientInfo>,
    region: Arc<str>,
    budget: Arc<BufferBudget>,
    /// The users, for re-signing a signed `Range` the edge clamps.
    keys: Keyring,
    /// The IAM and STS query APIs.
    query_api: QueryApi,
    /// Told about every request answered ([`observe`]).
    sinks: observe::Sinks,
    /// Health checks and metrics scrapes.
    operator: operator::Operator,
}

impl Edge {
    pub fn new(config: EdgeConfig) -> Self {
        let EdgeConfig {
            store,
            keys,
            identities,
            region,
            domains,
            buffered_bytes,
            sinks,
            scrape_auth,
        } = config;
        let mut builder =
            S3ServiceBuilder::new(crate::RustFsS3::new(store.clone(), &region, keys.clone()));
        builder.set_auth(keys.clone());
        builder.set_access(AccessControl::new(store.clone(), keys.clone()));
        builder.set_route(RouteSet::new().with(AdminApi::new(store.clone(), identities.clone())));
        builder.set_config(crate::s3s_config());
        if let Some(d) = &domains {
            builder.set_host(d.clone());
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let host_id = HeaderValue::from_str(&format!("{:016x}{:08x}", seed, std::process::id()))
            .unwrap_or(HeaderValue::from_static("rustfs"));
        Self {
            inner: builder.build(),
            cors: Arc::new(Cors::new(store.clone(), domains.clone())),
            next: Arc::new(AtomicU64::new(seed << 16)),
            host_id,
            domains: domains.clone(),
            client: None,
            region: Arc::from(region.as_str()),
            budget: Arc::new(BufferBudget::new(buffered_bytes)),
            query_api: QueryApi::new(identities),
            sinks: sinks.into(),
            operator: operator::Operator::new(store, keys.clone(), scrape_auth, domains),
            keys,
        }
    }

    /// This service for one connection's requests.
    pub fn for_client(&self, client: ClientInfo) -> Self {
        Self {
            client: Some(client),
            ..self.clone()
        }
    }

    /// Passes the request to s3s, first reading a body of unknown length if it must.
    /// Browser forms are prepared first. A body the server holds whole is read through the
    /// request's [`Ledger`], returned with the future: what went wrong reading it decides the
    /// answer. `counted`: the slot the bytes read are counted in, when the request is observed.
    fn forward(&self, req: http::Request<Incoming>, counted: Option<OperationSlot>) -> Forwarded {
        let inner = self.inner.clone();
        let form = post_form::is_form_post(&req);
        let no_length = unsized_body::unsized_upload(&req);
        let reading = reading_of(
            req.method(),
            req.uri().query(),
            addressing::names_object(self.domains.as_ref(), &req),
            form || no_length,
        );
        let Reading::Held { limit } = reading else {
            let req = req.map(|b| CountedIn::new(b, counted).into_s3s());
            return Forwarded {
                fut: Box::pin(async move { inner.call(req).await }),
                ledger: None,
                broken_condition: None,
            };
        };
        let ledger = Ledger::new(self.budget.clone());
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let guarded = ledger.clone();
        let req = req.map(move |b| {
            let b = CountedIn::new(b, counted);
            s3s::Body::http_body(Guarded::new(b, guarded, true, limit, declared))
        });
        let broken = Arc::new(std::sync::OnceLock::new());
        let fut: BoxFuture<'static, ServiceResult> = if form {
            let bucket =
                addressing::request_bucket(self.domains.as_ref(), req.uri(), req.headers());
            let noted = broken.clone();
            Box::pin(async move {
                match post_form::prepare(req, bucket.as_deref()).await {
                    Ok(prepared) => {
                        if let Some(why) = prepared.broken_condition {
                            let _ = noted.set(why);
                        }
                        inner.call(prepared.request).await
                    }
                    Err(refused) => Ok(crate::errors::request_response(refused)),
                }
            })
        } else if no_length {
            Box::pin(async move {
                match unsized_body::with_length(req).await {
                    Ok(req) => inner.call(req).await,
                    Err(refused) => Ok(crate::errors::request_response(refused)),
                }
            })
        } else {
            Box::pin(async move { inner.call(req).await })
        };
        Forwarded {
            fut,
            ledger: Some(ledger),
            broken_condition: Some(broken),
        }
    }

    /// The request as s3s should see it (step 1 of the module notes).
    fn adjust(&self, req: &mut http::Request<Incoming>) {
        let vhost = addressing::virtual_hosted(self.domains.as_ref(), req);
        sigv2::slash_bucket_path(req, vhost);
        request_checks::sigv4_date_from_date_header(req.headers_mut());
        range_header::clamp_range(req, Some(&self.keys));
        if let Some(client) = self.client {
            req.extensions_mut().insert(client);
        }
    }

    /// Whether the request is an IAM or STS query (`POST /` with a form, not to a bucket
    /// named by the host): served by [`QueryApi`], not s3s.
    fn is_query(&self, req: &http::Request<Incoming>) -> bool {
        crate::query_api::is_query(req)
            && addressing::request_bucket(self.domains.as_ref(), req.uri(), req.headers()).is_none()
    }

    /// Why the edge refuses the request before routing, if it does (step 3).
    fn refusal(&self, req: &http::Request<Incoming>) -> Result<(), RequestError> {
        region::check(req, &self.region)?;
        if let Some(refused) = request_checks::refusal(req) {
            return Err(refused);
        }
        sigv2::check_request_time(req.headers(), time::OffsetDateTime::now_utc())
    }
}

/// A request on its way through s3s, with what the edge keeps to decide the answer.
struct Forwarded {
    fut: BoxFuture<'static, ServiceResult>,
    /// The account of a body held whole.
    ledger: Option<Arc<Ledger>>,
    /// For a browser form: the policy condition it breaks, once the form is read.
    broken_condition: Option<Arc<std::sync::OnceLock<String>>>,
}

impl hyper::service::Service<http::Request<Incoming>> for Edge {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, mut req: http::Request<Incoming>) -> Self::Future {
        if let Some(answer) = self.operator.answer(&req) {
            return answer;
        }
        self.adjust(&mut req);
        // Filled by the access check: s3s does not hand a request's extensions back.
        let operation = OperationSlot::default();
        req.extensions_mut().insert(operation.clone());
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        // Formatted once: the span, the IAM/STS answer and the answer's headers share it.
        let request_id = format!("{id:016X}");
        let span = request_span::span(&request_id, req.method(), req.uri().path());
        let _in_span = span.enter();
        let mut observation =
            Observation::start(&self.sinks, &operation, id, self.client.map(|c| c.ip));
        let counted = observation.as_ref().map(|_| operation.clone());
        let host_id = self.host_id.clone();
        let (any_expect, empty_expect) = answers::expects_continue(&req);
        let attributes = answers::is_get_attributes(&req);
        let cors_req = self.cors.inspect(req.method(), req.uri(), req.headers());
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let preflight = cors_req.clone().filter(CorsRequest::is_preflight);
        let served: Result<Forwarded, RequestError> = match preflight {
            Some(r) => {
                let cors = self.cors.clone();
                Ok(Forwarded {
                    fut: Box::pin(async move {
                        Ok(match cors.preflight(&r).await {
                            Ok(resp) => resp,
                            Err(refused) => crate::errors::request_response(refused),
                        })
                    }),
                    ledger: None,
                    broken_condition: None,
                })
            }
            None if self.is_query(&req) => {
                OperationSlot::record(req.extensions_mut(), crate::operation::Operation::IamOrSts);
                let api = self.query_api.clone();
                let request_id = request_id.clone();
                let req = req.map(|b| CountedIn::new(b, counted));
                Ok(Forwarded {
                    fut: Box::pin(async move { Ok(api.serve(req, request_id).await) }),
                    ledger: None,
                    broken_condition: None,
                })
            }
            None => self.refusal(&req).map(|()| self.forward(req, counted)),
        };
        let cors = self.cors.clone();
        let body_span = span.clone();
        Box::pin(request_span::within(span.clone(), async move {
            let (mut resp, ledger, broken_condition) = match served {
                Ok(f) => match f.fut.await {
                    Ok(resp) => (resp, f.ledger, f.broken_condition),
                    Err(e) => {
                        if let Some(o) = observation.as_mut() {
                            o.answered(http::StatusCode::INTERNAL_SERVER_ERROR.as_u16());
                        }
                        return Err(e);
                    }
                },
                Err(refused) => (crate::errors::request_response(refused), None, None),
            };
            // A held body that could not be read: its fault is the answer.
            if let Some(fault) = ledger.as_ref().and_then(|l| l.fault())
                && !resp.status().is_success()
            {
                resp = crate::errors::request_response(fault.into());
            }
            drop(ledger);
            if let Some(why) = broken_condition.as_ref().and_then(|b| b.get())
                && resp.status() == http::StatusCode::BAD_REQUEST
                && answers::error_code(&resp).as_deref() == Some("InvalidPolicyDocument")
            {
                resp = crate::errors::request_response(RequestError::PolicyConditionFailed(
                    why.clone(),
                ));
            }
            if let Some(r) = &cors_req
                && let Some(extra) = cors.response_headers(r).await
            {
                resp.headers_mut().extend(extra);
            }
            // s3s 0.14 answers HeadObject 200 whatever its output (HeadObjectOutput has no
            // status); S3 answers a HEAD that selected a range 206, as GET does. The operation
            // sets Content-Range only when it answered a range.
            if method == http::Method::HEAD
                && resp.status() == http::StatusCode::OK
                && resp.headers().contains_key(header::CONTENT_RANGE)
            {
                *resp.status_mut() = http::StatusCode::PARTIAL_CONTENT;
            }
            let failed = !resp.status().is_success();
            if attributes
                && !failed
                && let Some(fixed) = resp.body().bytes().and_then(|b| answers::unquote_etag(&b))
            {
                answers::replace_body(&mut resp, fixed);
            }
            if failed
                && let Some(fixed) = resp
                    .body()
                    .bytes()
                    .and_then(|b| answers::with_request_id(&b, &request_id, host_id.as_bytes()))
            {
                answers::replace_body(&mut resp, fixed);
            }
            let h = resp.headers_mut();
            answers::stamp(h, &request_id, host_id);
            if empty_expect || (any_expect && failed) {
                h.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            if failed {
                failure_log::log_failure(&method, &path, &operation.label(), &request_id, &resp);
            }
            let resp = request_span::body_within(body_span, resp);
            Ok(match observation {
                Some(o) => CountedOut::wrap(resp, o),
                None => resp,
            })
        }))
    }
}
