//! Inline policies: a policy document kept in the user's, group's or role's own record under a
//! name (IAM's Put/Get/List/DeleteUserPolicy, GroupPolicy and RolePolicy), deleted with it.

use rustfs_meta::transact;

use crate::records::{self, GROUP, GroupRecord, ROLE, RoleRecord, USER, UserRecord};
use crate::store::{Principal, check_name, no_such, now_ms};
use crate::{Iam, IamError};

impl Iam {
    /// Sets inline policy `name` of `to` (`Some` document) or deletes it (`None`; a missing one
    /// is `NoSuchEntity`). The caller validates the document first.
    pub async fn set_inline_policy(
        &self,
        to: &Principal,
        name: &str,
        document: Option<&str>,
    ) -> Result<(), IamError> {
        check_name("policy name", name)?;
        transact(&*self.store, |t| {
            Box::pin(async move {
                records::bump(t).await?;
                let change =
                    |inline: &mut std::collections::BTreeMap<String, String>| match document {
                        Some(d) => {
                            inline.insert(name.to_string(), d.to_string());
                            Ok(())
                        }
                        None => inline
                            .remove(name)
                            .map(|_| ())
                            .ok_or_else(|| no_such("policy", name)),
                    };
                match to {
                    Principal::User(u) => {
                        let mut rec = records::get::<UserRecord>(t, USER, u)
                            .await?
                            .ok_or_else(|| no_such("user", u))?;
                        change(&mut rec.inline)?;
                        rec.updated_ms = now_ms();
                        records::put(t, USER, u, &rec);
                    }
                    Principal::Group(g) => {
                        let mut rec = records::get::<GroupRecord>(t, GROUP, g)
                            .await?
                            .ok_or_else(|| no_such("group", g))?;
                        change(&mut rec.inline)?;
                        rec.updated_ms = now_ms();
                        records::put(t, GROUP, g, &rec);
                    }
                    Principal::Role(r) => {
                        let mut rec = records::get::<RoleRecord>(t, ROLE, r)
                            .await?
                            .ok_or_else(|| no_such("role", r))?;
                        change(&mut rec.inline)?;
                        records::put(t, ROLE, r, &rec);
                    }
                }
                Ok(())
            })
        })
        .await?;
        Ok(())
    }
}
