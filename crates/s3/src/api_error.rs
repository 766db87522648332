//! Why the S3 API layer (operations, DTO conversions, ACLs, credentials, request bodies, custom
//! routes) refuses a request it understood, by cause. Each variant is turned into its S3 code,
//! status and message in one place: `crate::errors::api`.

/// A request the S3 API refuses (object-layer errors are `rustfs_object::ObjectError`).
#[derive(Debug)]
pub enum ApiError {
    // Operations.
    /// `partNumber` outside 1..=10000.
    PartNumberInvalid,
    /// UploadPart(Copy) without a part number.
    PartNumberMissing,
    /// A CompleteMultipartUpload entry without a valid part number.
    CompletedPartNumberInvalid,
    /// CopyObject from an access point ARN.
    CopyFromAccessPoint,
    /// DeleteObjects with more keys than S3 takes at once (`max`).
    TooManyKeysToDelete,
    /// `x-amz-metadata-directive` other than COPY or REPLACE.
    UnknownMetadataDirective,
    /// `x-amz-tagging-directive` other than COPY or REPLACE.
    UnknownTaggingDirective,
    /// A browser form with a policy but no signature.
    FormSignatureMissing,
    /// A browser form signed for another region than the server's.
    FormWrongRegion { got: String, expected: String },
    /// A browser form's `acl` field is not a header value.
    FormAclInvalid,
    /// A browser form's `tagging` field is not a `<Tagging>` document.
    FormTaggingMalformed,
    /// A checksum field the form handler does not know.
    FormChecksumFieldUnknown(String),
    /// `max-buckets` outside 1..=10000.
    MaxBucketsOutOfRange,
    /// PutBucketVersioning with MFA delete enabled.
    MfaDeleteUnsupported,
    /// PutBucketVersioning with a status other than Enabled or Suspended.
    VersioningStatusMalformed,
    // Object lock (`ops::object_lock`).
    /// PutObjectLockConfiguration without `ObjectLockEnabled` `Enabled`.
    MalformedLockConfiguration,
    /// PutObjectRetention with a mode S3 does not spell, or only one of mode and date.
    MalformedRetention,
    /// PutObjectLegalHold with a status other than ON or OFF.
    MalformedLegalHold,
    /// `x-amz-object-lock-mode` other than GOVERNANCE or COMPLIANCE.
    UnknownLockMode,
    /// Only one of `x-amz-object-lock-mode` and `-retain-until-date`.
    LockModeAndDateTogether,
    /// `x-amz-object-lock-retain-until-date` not in the future.
    RetainUntilInPast,
    /// `x-amz-object-lock-legal-hold` other than ON or OFF.
    InvalidLegalHoldHeader,
    /// A PUT with object lock headers but neither Content-MD5 nor a checksum.
    LockNeedsDigest,
    /// An `ObjectOwnership` value S3 does not know.
    ObjectOwnershipInvalid(String),
    /// PutBucketOwnershipControls without exactly one rule.
    OwnershipRulesMalformed,
    /// PutObjectAcl/PutBucketAcl with neither headers nor a body.
    AclMissing,
    /// `encoding-type` other than `url`.
    EncodingTypeInvalid,
    /// A ListObjectsV2 continuation token this server did not write.
    ContinuationTokenInvalid,
    /// ListObjectVersions with a version-id marker but no key marker.
    VersionMarkerWithoutKeyMarker,
    // DTO conversions.
    /// A checksum algorithm the server does not know.
    ChecksumAlgorithmUnsupported(String),
    /// A checksum type the server does not know.
    ChecksumTypeUnsupported(String),
    /// More than one `x-amz-checksum-*` value.
    MultipleChecksums,
    /// `x-amz-sdk-checksum-algorithm` names another algorithm than the checksum header.
    SdkChecksumAlgorithmMismatch,
    /// An `x-amz-trailer` naming a checksum the server does not know.
    TrailerChecksumUnsupported(String),
    /// `x-amz-copy-source-range` not of the form `bytes=first-last`.
    CopySourceRangeInvalid,
    /// A count parameter (`max-keys`, ...) below zero: its name.
    NegativeCount(String),
    // ACLs.
    /// A canned ACL or grant header S3 does not accept: why.
    AclArgument(String),
    /// A canned ACL and grant headers together.
    CannedAclWithGrants,
    /// A grant by e-mail address no user has.
    GrantEmailUnresolvable,
    /// An `AccessControlPolicy` body that does not validate.
    AclMalformed,
    /// An `AccessControlPolicy` naming another owner than the resource's.
    AclOwnerChange,
    // Encryption, limits, credentials, routes.
    /// SSE-C over plain HTTP.
    SseCustomerKeyWithoutTls,
    /// An SSE algorithm S3 does not know.
    SseAlgorithmUnsupported,
    /// Server-side encryption asked for: not implemented.
    SseNotImplemented,
    /// An encryption header (or form field) S3 refuses, with S3's message.
    SseInvalid(String),
    /// User metadata over the limit.
    MetadataTooLarge { size: usize, max: usize },
    /// An access key no user has.
    UnknownAccessKey,
    /// An access key that is disabled, or whose user is.
    DisabledAccessKey,
    /// An access key past its expiry (a service account's).
    ExpiredKey,
    /// A custom route matched but could not be found again (a bug).
    RouteLost,
    /// An admin heal `id` that is not a number.
    AdminHealIdInvalid,
    /// An admin answer that could not be serialized (a bug).
    AdminReply(String),
    // Request bodies as s3s hands them over (`crate::body`).
    /// The body does not hash to its `x-amz-content-sha256`.
    PayloadSha256Mismatch,
    /// An aws-chunked chunk signature does not verify.
    ChunkSignatureMismatch,
    /// An aws-chunked body that does not parse: s3s' description.
    ChunkedBodyMalformed(String),
    /// The body ended early or could not be read: why.
    BodyReadFailed(String),
}

impl From<ApiError> for s3s::S3Error {
    fn from(e: ApiError) -> Self {
        crate::errors::api(e)
    }
}
