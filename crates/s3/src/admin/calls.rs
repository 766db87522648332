//! The calls of MinIO's admin API this server has (`/minio/admin/v3/<op>` with madmin's
//! encrypted bodies, `/rustfs/admin/v3/<op>` with plain JSON), each with the admin action
//! that authorizes it (MinIO's names).

use http::Method;

/// The two roots the v3 calls are served under, and how their bodies travel.
pub const MINIO_V3: &str = "/minio/admin/v3/";
pub const RUSTFS_V3: &str = "/rustfs/admin/v3/";

macro_rules! v3_calls {
    ($( $variant:ident = $method:ident $path:literal => $action:literal, $label:literal; )*) => {
        /// One call of the v3 admin API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum V3Op { $( $variant, )* }

        impl V3Op {
            /// The call a request makes (`path` is the whole request path).
            pub fn of(method: &Method, path: &str) -> Option<Self> {
                let op = path
                    .strip_prefix(MINIO_V3)
                    .or_else(|| path.strip_prefix(RUSTFS_V3))?;
                $( if method == Method::$method && op == $path { return Some(Self::$variant); } )*
                None
            }

            /// The admin action a caller's policies must allow.
            pub fn action(self) -> &'static str {
                match self { $( Self::$variant => $action, )* }
            }

            pub fn label(self) -> &'static str {
                match self { $( Self::$variant => $label, )* }
            }
        }
    };
}

v3_calls! {
    AddUser = PUT "add-user" => "admin:CreateUser", "AdminAddUser";
    RemoveUser = DELETE "remove-user" => "admin:DeleteUser", "AdminRemoveUser";
    ListUsers = GET "list-users" => "admin:ListUsers", "AdminListUsers";
    UserInfo = GET "user-info" => "admin:GetUser", "AdminUserInfo";
    SetUserStatus = PUT "set-user-status" => "admin:EnableUser", "AdminSetUserStatus";
    AddPolicy = PUT "add-canned-policy" => "admin:CreatePolicy", "AdminAddCannedPolicy";
    PolicyInfo = GET "info-canned-policy" => "admin:GetPolicy", "AdminInfoCannedPolicy";
    ListPolicies = GET "list-canned-policies" => "admin:ListUserPolicies", "AdminListCannedPolicies";
    RemovePolicy = DELETE "remove-canned-policy" => "admin:DeletePolicy", "AdminRemoveCannedPolicy";
    AttachPolicy = POST "idp/builtin/policy/attach" => "admin:AttachUserOrGroupPolicy", "AdminAttachPolicy";
    DetachPolicy = POST "idp/builtin/policy/detach" => "admin:AttachUserOrGroupPolicy", "AdminDetachPolicy";
    SetPolicy = PUT "set-user-or-group-policy" => "admin:AttachUserOrGroupPolicy", "AdminSetUserOrGroupPolicy";
    UpdateGroupMembers = PUT "update-group-members" => "admin:AddUserToGroup", "AdminUpdateGroupMembers";
    GroupInfo = GET "group" => "admin:GetGroup", "AdminGroupInfo";
    ListGroups = GET "groups" => "admin:ListGroups", "AdminListGroups";
    SetGroupStatus = PUT "set-group-status" => "admin:EnableGroup", "AdminSetGroupStatus";
    AddServiceAccount = PUT "add-service-account" => "admin:CreateServiceAccount", "AdminAddServiceAccount";
    UpdateServiceAccount = POST "update-service-account" => "admin:UpdateServiceAccount", "AdminUpdateServiceAccount";
    ServiceAccountInfo = GET "info-service-account" => "admin:ListServiceAccounts", "AdminInfoServiceAccount";
    ListServiceAccounts = GET "list-service-accounts" => "admin:ListServiceAccounts", "AdminListServiceAccounts";
    DeleteServiceAccount = DELETE "delete-service-account" => "admin:RemoveServiceAccount", "AdminDeleteServiceAccount";
    AccountInfo = GET "accountinfo" => "admin:AccountInfo", "AdminAccountInfo";
    ServerInfo = GET "info" => "admin:ServerInfo", "AdminServerInfo";
}

impl V3Op {
    /// Calls any signed user may make on what is its own (its service accounts, its account
    /// info), as MinIO allows; the handler then refuses anything that is not its own.
    pub fn self_service(self) -> bool {
        matches!(
            self,
            Self::AddServiceAccount
                | Self::UpdateServiceAccount
                | Self::ServiceAccountInfo
                | Self::ListServiceAccounts
                | Self::DeleteServiceAccount
                | Self::AccountInfo
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_found_under_both_roots_with_their_action() {
        let op = V3Op::of(&Method::PUT, "/minio/admin/v3/add-user");
        assert_eq!(op, Some(V3Op::AddUser));
        assert_eq!(V3Op::of(&Method::PUT, "/rustfs/admin/v3/add-user"), op);
        assert_eq!(V3Op::of(&Method::GET, "/minio/admin/v3/add-user"), None);
        assert_eq!(V3Op::of(&Method::GET, "/minio/admin/v4/list-users"), None);
        assert_eq!(
            V3Op::of(&Method::POST, "/minio/admin/v3/idp/builtin/policy/detach").map(V3Op::action),
            Some("admin:AttachUserOrGroupPolicy")
        );
        assert!(V3Op::ListServiceAccounts.self_service());
        assert!(!V3Op::ListUsers.self_service());
    }
}
