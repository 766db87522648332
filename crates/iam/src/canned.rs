//! Built-in policies: MinIO's canned ones (`readonly`, `readwrite`, `writeonly`,
//! `diagnostics`, `consoleAdmin`) and the AWS managed ones S3 and IAM tools attach by ARN
//! (`arn:aws:iam::aws:policy/AmazonS3FullAccess`, `AmazonS3ReadOnlyAccess`, `IAMFullAccess`,
//! `IAMReadOnlyAccess`). They cannot be replaced or deleted.

pub const NAMES: [&str; 9] = [
    "consoleAdmin",
    "diagnostics",
    "readonly",
    "readwrite",
    "writeonly",
    "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess",
    "IAMFullAccess",
    "IAMReadOnlyAccess",
];

/// Whether `name` is one of the AWS managed policies (named `arn:aws:iam::aws:policy/NAME`).
pub fn is_aws_managed(name: &str) -> bool {
    NAMES[5..].contains(&name)
}

/// The document of canned policy `name`.
pub fn document(name: &str) -> Option<&'static str> {
    Some(match name {
        "readwrite" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        "readonly" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetBucketLocation","s3:GetObject"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        "writeonly" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        "diagnostics" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["admin:ServerTrace","admin:Profiling","admin:ConsoleLog","admin:ServerInfo","admin:TopLocksInfo","admin:OBDInfo","admin:BandwidthMonitor","admin:Prometheus"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        "consoleAdmin" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["admin:*"]},{"Effect":"Allow","Action":["kms:*"]},{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}"#
        }
        "AmazonS3FullAccess" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}"#
        }
        "AmazonS3ReadOnlyAccess" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"#
        }
        "IAMFullAccess" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}"#
        }
        "IAMReadOnlyAccess" => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#
        }
        _ => return None,
    })
}

pub fn is_canned(name: &str) -> bool {
    NAMES.contains(&name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_canned_policy_is_json_with_a_version() {
        for n in super::NAMES {
            let v: serde_json::Value = serde_json::from_str(super::document(n).unwrap()).unwrap();
            assert_eq!(v["Version"], "2012-10-17", "{n}");
        }
        assert!(super::document("nope").is_none());
    }
}
