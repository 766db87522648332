//! Managed policies: CreatePolicy, GetPolicy, GetPolicyVersion, ListPolicies, DeletePolicy.
//! Each policy has one version, `v1`, replaced in place by MinIO's add-canned-policy; MinIO's
//! canned policies are listed as AWS-managed ones are.

use rustfs_iam::PolicyRecord;

use super::xml::Xml;
use super::{Call, QueryError, date, identity_policy, policy_name};
use crate::identity::policy_arn;

type Answer = Result<Option<Xml>, QueryError>;

pub async fn serve(call: &Call<'_>, action: &str) -> Option<Answer> {
    Some(match action {
        "CreatePolicy" => create(call).await,
        "GetPolicy" => get(call).await,
        "GetPolicyVersion" => version(call).await,
        "ListPolicies" => list(call).await,
        "DeletePolicy" => delete(call).await,
        _ => return None,
    })
}

fn write_policy(x: &mut Xml, p: &PolicyRecord) {
    x.leaf("PolicyName", &p.name)
        .leaf(
            "PolicyId",
            &format!("ANPA{}", super::users::user_id(&p.name).split_off(4)),
        )
        .leaf("Arn", &policy_arn(&p.name))
        .leaf("Path", "/")
        .leaf("DefaultVersionId", "v1")
        .leaf("IsAttachable", "true")
        .leaf("CreateDate", &date(p.created_ms))
        .leaf("UpdateDate", &date(p.updated_ms));
}

async fn named(call: &Call<'_>) -> Result<PolicyRecord, QueryError> {
    let arn = call.form.need("PolicyArn")?;
    let name = policy_name(arn)?;
    call.authorize(&policy_arn(&name))?;
    call.ids.iam().policy(&name).await?.ok_or_else(|| {
        QueryError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
    })
}

async fn create(call: &Call<'_>) -> Answer {
    let name = call.form.need("PolicyName")?;
    let doc = call.form.need("PolicyDocument")?;
    call.authorize(&policy_arn(name))?;
    identity_policy(doc)?;
    let p = call.ids.iam().create_policy(name, doc).await?;
    call.changed().await?;
    let mut x = Xml::default();
    x.open("Policy");
    write_policy(&mut x, &p);
    x.close("Policy");
    Ok(Some(x))
}

async fn get(call: &Call<'_>) -> Answer {
    let p = named(call).await?;
    let mut x = Xml::default();
    x.open("Policy");
    write_policy(&mut x, &p);
    x.close("Policy");
    Ok(Some(x))
}

async fn version(call: &Call<'_>) -> Answer {
    let p = named(call).await?;
    let v = call.form.need("VersionId")?;
    if v != "v1" {
        return Err(QueryError::NoSuchEntity(format!(
            "Policy version {v} does not exist."
        )));
    }
    // IAM returns the document URL-encoded.
    let encoded: String = url_encode(&p.document);
    let mut x = Xml::default();
    x.open("PolicyVersion")
        .leaf("Document", &encoded)
        .leaf("VersionId", "v1")
        .leaf("IsDefaultVersion", "true")
        .leaf("CreateDate", &date(p.created_ms))
        .close("PolicyVersion");
    Ok(Some(x))
}

fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn list(call: &Call<'_>) -> Answer {
    call.authorize(&policy_arn("*"))?;
    let scope = call.form.get("Scope").unwrap_or("All");
    let all = call.ids.iam().list_policies().await?;
    let wanted: Vec<PolicyRecord> = all
        .into_iter()
        .filter(|p| match scope {
            "AWS" => rustfs_iam::canned::is_canned(&p.name),
            "Local" => !rustfs_iam::canned::is_canned(&p.name),
            _ => true,
        })
        .collect();
    let mut x = Xml::default();
    x.list("Policies", &wanted, write_policy);
    x.leaf("IsTruncated", "false");
    Ok(Some(x))
}

async fn delete(call: &Call<'_>) -> Answer {
    let p = named(call).await?;
    call.ids.iam().delete_policy(&p.name).await?;
    call.changed().await?;
    Ok(None)
}
