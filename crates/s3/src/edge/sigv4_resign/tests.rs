//! The signature vectors are AWS's own examples from the S3 API reference ("Signature
//! Calculations for the Authorization Header" and "Authenticating Requests: Using Query
//! Parameters"): a canonical request that differs from AWS's in any byte fails them.

use super::*;
use crate::auth::User;

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn keys() -> Keyring {
    Keyring::new([User::derived(AK, SECRET)]).unwrap()
}

fn auth(signed: &str, signature: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders={signed},Signature={signature}"
    )
}

/// AWS's "GET Object" example: a signed `Range`.
fn get_object(signature: &str) -> Request<()> {
    Request::get("/test.txt")
        .header("host", "examplebucket.s3.amazonaws.com")
        .header("range", "bytes=0-9")
        .header("x-amz-content-sha256", EMPTY_SHA256)
        .header("x-amz-date", "20130524T000000Z")
        .header(
            "authorization",
            auth("host;range;x-amz-content-sha256;x-amz-date", signature),
        )
        .body(())
        .unwrap()
}

const GET_OBJECT_SIG: &str = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

fn signature_of(req: &Request<()>) -> String {
    let a = req.headers()["authorization"].to_str().unwrap();
    a.rsplit_once("Signature=").unwrap().1.to_owned()
}

fn set_range(v: &'static str) -> impl FnOnce(&mut HeaderMap) {
    move |h: &mut HeaderMap| {
        h.insert(header::RANGE, HeaderValue::from_static(v));
    }
}

#[test]
fn aws_header_vectors_verify_and_an_unchanged_request_keeps_its_signature() {
    let mut req = get_object(GET_OBJECT_SIG);
    assert!(resign(&mut req, &keys(), |_| {}));
    assert_eq!(signature_of(&req), GET_OBJECT_SIG);

    // "GET Bucket Lifecycle" (a query without a value) and "Get Bucket (List Objects)".
    for (uri, sig) in [
        (
            "/?lifecycle",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        ),
        (
            "/?max-keys=2&prefix=J",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
    ] {
        let mut req = Request::get(uri)
            .header("host", "examplebucket.s3.amazonaws.com")
            .header("x-amz-content-sha256", EMPTY_SHA256)
            .header("x-amz-date", "20130524T000000Z")
            .header(
                "authorization",
                auth("host;x-amz-content-sha256;x-amz-date", sig),
            )
            .body(())
            .unwrap();
        assert!(resign(&mut req, &keys(), |_| {}), "{uri}");
        assert_eq!(signature_of(&req), sig, "{uri}");
    }
}

#[test]
fn a_rewritten_header_gets_a_signature_over_the_new_value() {
    let mut req = get_object(GET_OBJECT_SIG);
    assert!(resign(&mut req, &keys(), set_range("bytes=0-5")));
    assert_eq!(req.headers()["range"], "bytes=0-5");
    let fresh = signature_of(&req);
    assert_ne!(fresh, GET_OBJECT_SIG);
    // The re-signed request verifies as it stands (and keeps that signature).
    assert!(resign(&mut req, &keys(), |_| {}));
    assert_eq!(signature_of(&req), fresh);
    // Signing the original value again gives AWS's signature back.
    assert!(resign(&mut req, &keys(), set_range("bytes=0-9")));
    assert_eq!(signature_of(&req), GET_OBJECT_SIG);
}

#[test]
fn requests_that_fail_verification_are_left_unchanged() {
    let check = |mut req: Request<()>, why: &str| {
        let before = (req.uri().clone(), req.headers().clone());
        assert!(!resign(&mut req, &keys(), set_range("bytes=0-5")), "{why}");
        assert_eq!((req.uri().clone(), req.headers().clone()), before, "{why}");
    };
    let wrong = GET_OBJECT_SIG.replace('f', "e");
    check(get_object(&wrong), "wrong signature");
    check(get_object(&GET_OBJECT_SIG.to_uppercase()), "upper-case hex");
    check(get_object(&GET_OBJECT_SIG[..60]), "short signature");

    let mut tampered = get_object(GET_OBJECT_SIG);
    tampered
        .headers_mut()
        .insert("range", HeaderValue::from_static("bytes=0-10"));
    check(tampered, "a signed header changed after signing");

    let mut other_key = get_object(GET_OBJECT_SIG);
    let a = auth("host;range;x-amz-content-sha256;x-amz-date", GET_OBJECT_SIG)
        .replace(AK, "SOMEONEELSE");
    other_key
        .headers_mut()
        .insert("authorization", a.parse().unwrap());
    check(other_key, "unknown access key");

    let mut streaming = get_object(GET_OBJECT_SIG);
    streaming.headers_mut().insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
    );
    check(streaming, "streaming payload");

    let mut put = get_object(GET_OBJECT_SIG);
    *put.method_mut() = Method::PUT;
    check(put, "not a GET or HEAD");

    let mut v2 = get_object(GET_OBJECT_SIG);
    v2.headers_mut().insert(
        "authorization",
        HeaderValue::from_static("AWS AKIAIOSFODNN7EXAMPLE:abc"),
    );
    check(v2, "SigV2");

    let mut two_dates = get_object(GET_OBJECT_SIG);
    two_dates
        .headers_mut()
        .append("x-amz-date", HeaderValue::from_static("20130524T000000Z"));
    check(two_dates, "x-amz-date twice");

    let mut no_auth = get_object(GET_OBJECT_SIG);
    no_auth.headers_mut().remove("authorization");
    check(no_auth, "anonymous");
}

const PRESIGNED_SIG: &str = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

fn presigned(signature: &str) -> Request<()> {
    let uri = format!(
        "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={AK}%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
    );
    Request::get(uri)
        .header("host", "examplebucket.s3.amazonaws.com")
        .body(())
        .unwrap()
}

fn query_signature(req: &Request<()>) -> String {
    let q = req.uri().query().unwrap();
    q.rsplit_once("X-Amz-Signature=").unwrap().1.to_owned()
}

#[test]
fn aws_presigned_vector_verifies_and_resigns_in_the_query() {
    let mut req = presigned(PRESIGNED_SIG);
    let before = req.uri().clone();
    assert!(resign(&mut req, &keys(), |_| {}));
    assert_eq!(req.uri(), &before);

    // `host` is all it signs: a Range added by the holder of the URL changes nothing.
    let mut req = presigned(PRESIGNED_SIG);
    assert!(resign(&mut req, &keys(), set_range("bytes=0-5")));
    assert_eq!(query_signature(&req), PRESIGNED_SIG);

    // With `range` signed, the new value gets a new signature, and only that pair changes.
    let signed_range = |sig: &str| {
        let mut req = presigned(sig);
        let uri = req.uri().to_string().replace(
            "X-Amz-SignedHeaders=host",
            "X-Amz-SignedHeaders=host%3Brange",
        );
        *req.uri_mut() = uri.parse().unwrap();
        req.headers_mut()
            .insert("range", HeaderValue::from_static("bytes=0-9"));
        req
    };
    let mut probe = signed_range(PRESIGNED_SIG);
    assert!(
        !resign(&mut probe, &keys(), |_| {}),
        "the AWS signature does not sign range"
    );
    // A URL that does sign `range` (as its holder's client would have computed it).
    let honest = {
        let mut r = signed_range(PRESIGNED_SIG);
        let sig = expected_signature(&r);
        let uri = r.uri().to_string().replace(PRESIGNED_SIG, &sig);
        *r.uri_mut() = uri.parse().unwrap();
        r
    };
    let mut req = honest;
    let honest_sig = query_signature(&req);
    assert!(resign(&mut req, &keys(), set_range("bytes=0-5")));
    let fresh = query_signature(&req);
    assert_ne!(fresh, honest_sig);
    assert!(resign(&mut req, &keys(), |_| {}));
    assert_eq!(query_signature(&req), fresh);

    let mut wrong = presigned(&PRESIGNED_SIG.replace('a', "b"));
    let before = wrong.uri().clone();
    assert!(!resign(&mut wrong, &keys(), set_range("bytes=0-5")));
    assert_eq!(wrong.uri(), &before);
    assert!(!wrong.headers().contains_key("range"));
}

/// What a client holding the secret would sign (test helper built on the module's pieces).
fn expected_signature(req: &Request<()>) -> String {
    let query = decoded_query(req.uri());
    let raw = req.uri().query().unwrap_or_default();
    let s = signed_parts(req.headers(), raw, &query).unwrap();
    let key = signing_key(SECRET, &s);
    let path = Path::Encoded(req.uri().path().to_owned());
    hex(&mac(&key, &s, &canonical_request(req, &path, &query, &s))
        .finalize()
        .into_bytes())
}

#[test]
fn paths_with_characters_s3_encodes_try_the_raw_path_too() {
    // A client that signs the path as sent (s3s' second try) is accepted and re-signed the
    // same way.
    let mut req = Request::get("/b/a=b")
        .header("host", "h")
        .header("range", "bytes=0-9")
        .header("x-amz-content-sha256", UNSIGNED_PAYLOAD)
        .header("x-amz-date", "20130524T000000Z")
        .header(
            "authorization",
            auth(
                "host;range;x-amz-content-sha256;x-amz-date",
                &"0".repeat(64),
            ),
        )
        .body(())
        .unwrap();
    let query = decoded_query(req.uri());
    let s = signed_parts(req.headers(), "", &query).unwrap();
    let key = signing_key(SECRET, &s);
    let raw = Path::Raw("/b/a=b".into());
    let sig = hex(&mac(&key, &s, &canonical_request(&req, &raw, &query, &s))
        .finalize()
        .into_bytes());
    let a = auth("host;range;x-amz-content-sha256;x-amz-date", &sig);
    req.headers_mut()
        .insert("authorization", a.parse().unwrap());
    assert!(resign(&mut req, &keys(), set_range("bytes=0-5")));
    let fresh = signature_of(&req);
    let s = signed_parts(req.headers(), "", &query).unwrap();
    let expected = hex(&mac(&key, &s, &canonical_request(&req, &raw, &query, &s))
        .finalize()
        .into_bytes());
    assert_eq!(fresh, expected);
}
