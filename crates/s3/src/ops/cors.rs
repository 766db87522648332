//! Bucket CORS configuration (the preflight and response headers are in `crate::edge::cors`).

use rustfs_object::CorsRule;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use crate::RustFsS3;
use crate::errors::to_s3;

fn rule_in(r: CORSRule) -> CorsRule {
    CorsRule {
        id: r.id,
        allowed_methods: r.allowed_methods,
        allowed_origins: r.allowed_origins,
        allowed_headers: r.allowed_headers.unwrap_or_default(),
        expose_headers: r.expose_headers.unwrap_or_default(),
        max_age_seconds: r.max_age_seconds,
    }
}

fn rule_out(r: CorsRule) -> CORSRule {
    let opt = |v: Vec<String>| (!v.is_empty()).then_some(v);
    CORSRule {
        id: r.id,
        allowed_methods: r.allowed_methods,
        allowed_origins: r.allowed_origins,
        allowed_headers: opt(r.allowed_headers),
        expose_headers: opt(r.expose_headers),
        max_age_seconds: r.max_age_seconds,
    }
}

impl RustFsS3 {
    pub(super) async fn op_put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        let i = req.input;
        let rules = i
            .cors_configuration
            .cors_rules
            .into_iter()
            .map(rule_in)
            .collect();
        self.store
            .set_bucket_cors(&i.bucket, rules)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    pub(super) async fn op_get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let rules = self
            .store
            .bucket_cors(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(GetBucketCorsOutput {
            cors_rules: Some(rules.into_iter().map(rule_out).collect()),
        }))
    }

    pub(super) async fn op_delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        self.store
            .delete_bucket_cors(&req.input.bucket)
            .await
            .map_err(to_s3)?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }
}
