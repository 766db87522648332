//! Everything the store holds about identities, read in one transaction: what a server caches
//! to check signatures and decide access without a database read per request, reloaded when
//! the change counter moves ([`Iam::version`]).

use rustfs_meta::transact;

use crate::records::{
    self, GROUP, GroupRecord, POLICY, PolicyRecord, ROLE, RoleRecord, SVCACCT,
    ServiceAccountRecord, USER, UserRecord,
};
use crate::store::ALL;
use crate::{Iam, IamError};

/// A secret as it opened: `None` when it does not open with this server's secret (a changed
/// root secret): that key is refused, never guessed.
pub type Opened = Option<String>;

/// One consistent state of every identity.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The change counter this state is at.
    pub version: u64,
    pub users: Vec<(UserRecord, Opened)>,
    pub groups: Vec<GroupRecord>,
    /// Managed policies (the canned ones are not stored).
    pub policies: Vec<PolicyRecord>,
    pub service_accounts: Vec<(ServiceAccountRecord, Opened)>,
    pub roles: Vec<RoleRecord>,
}

impl Iam {
    /// Reads every identity in one state.
    pub async fn snapshot(&self) -> Result<Snapshot, IamError> {
        let (version, users, groups, policies, accounts, roles) = transact(&*self.store, |t| {
            Box::pin(async move {
                Ok((
                    records::version(t).await?,
                    records::list::<UserRecord>(t, USER, "", ALL).await?,
                    records::list::<GroupRecord>(t, GROUP, "", ALL).await?,
                    records::list::<PolicyRecord>(t, POLICY, "", ALL).await?,
                    records::list::<ServiceAccountRecord>(t, SVCACCT, "", ALL).await?,
                    records::list::<RoleRecord>(t, ROLE, "", ALL).await?,
                ))
            })
        })
        .await?;
        let open = |ak: &str, sealed: &str| {
            if sealed.is_empty() {
                return None;
            }
            match self.sealer.open(ak, sealed) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(access_key = ak, "{e}");
                    None
                }
            }
        };
        Ok(Snapshot {
            version,
            users: users
                .into_iter()
                .map(|u| {
                    let s = open(&u.access_key, &u.sealed_secret);
                    (u, s)
                })
                .collect(),
            groups,
            policies,
            service_accounts: accounts
                .into_iter()
                .map(|a| {
                    let s = open(&a.access_key, &a.sealed_secret);
                    (a, s)
                })
                .collect(),
            roles,
        })
    }
}
