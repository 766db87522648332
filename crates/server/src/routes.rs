//! The requests one port serves. The S3 port: a cluster node's internode shard service under
//! `/rustfs/internode/` (signed with the cluster secret, never S3), everything else to the S3
//! edge. The console port: `rustfs_console::Console` answers its own paths and hands
//! `/api/s3/...` back, without the prefix, to the same S3 edge.

use std::sync::Arc;

use futures::future::BoxFuture;
use hyper::body::Incoming;
use rustfs_console::{Console, Route};
use rustfs_internode::ShardService;
use rustfs_internode::service::is_internode;
use rustfs_s3::access::ClientInfo;
use rustfs_s3::edge::Edge;

#[derive(Clone)]
pub struct Routes {
    edge: Edge,
    internode: Option<Arc<ShardService>>,
    console: Option<Console>,
}

impl Routes {
    /// The S3 port's requests.
    pub fn new(edge: Edge, internode: Option<Arc<ShardService>>) -> Self {
        Self {
            edge,
            internode,
            console: None,
        }
    }

    /// The console port's requests: its own answers, and `/api/s3/...` to `edge`.
    pub fn console(edge: Edge, console: Console) -> Self {
        Self {
            edge,
            internode: None,
            console: Some(console),
        }
    }

    pub fn for_client(&self, client: ClientInfo) -> Self {
        Self {
            edge: self.edge.for_client(client),
            internode: self.internode.clone(),
            console: self.console.clone(),
        }
    }
}

impl hyper::service::Service<http::Request<Incoming>> for Routes {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        if let Some(console) = &self.console {
            return match console.route(req) {
                Route::Forward(req) => self.edge.call(req),
                Route::Answer(resp) => Box::pin(futures::future::ready(Ok(resp))),
            };
        }
        match &self.internode {
            Some(service) if is_internode(req.uri().path()) => {
                let service = service.clone();
                Box::pin(async move {
                    let resp = service.handle(req).await;
                    Ok(resp.map(s3s::Body::from))
                })
            }
            _ => self.edge.call(req),
        }
    }
}
