//! The principal an operation runs as.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::id::{self, AccountId};

/// The principal an operation runs as: an IAM principal ARN within an account.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Caller {
    /// Shared, so cloning a caller (and auditing it) copies a pointer.
    pub(super) principal: Arc<str>,
    pub(super) account: AccountId,
}

impl Caller {
    /// The root principal of `account` in the `aws` partition (`arn:aws:iam::<account>:root`):
    /// what single-tenant embedders use. For an engine in another partition (`cn-…`,
    /// `us-gov-…` Regions) use [`Kms::root_caller`](super::Kms::root_caller).
    pub fn root(account: &AccountId) -> Self {
        Self { principal: account.root_arn("aws").into(), account: account.clone() }
    }

    /// A principal given by its ARN, `arn:<partition>:iam::<account>:…` or
    /// `arn:<partition>:sts::<account>:…`.
    pub fn from_arn(arn: &str) -> Result<Self> {
        let mut parts = arn.splitn(6, ':');
        match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("arn"), Some(p), Some("iam" | "sts"), Some(""), Some(account), Some(resource))
                if !p.is_empty() && !resource.is_empty() =>
            {
                Ok(Self { principal: arn.into(), account: AccountId::new(account)? })
            }
            _ => Err(Error::Validation(format!("Invalid principal ARN: {}", id::truncate_for_message(arn)))),
        }
    }

    /// The principal's ARN.
    pub fn principal_arn(&self) -> &str {
        &self.principal
    }

    /// The principal's account.
    pub fn account(&self) -> &AccountId {
        &self.account
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers() {
        let c = Caller::from_arn("arn:aws:iam::123456789012:user/alice").unwrap();
        assert_eq!(c.account().as_str(), "123456789012");
        assert_eq!(
            Caller::from_arn("arn:aws:sts::123456789012:assumed-role/r/s").unwrap().principal_arn(),
            "arn:aws:sts::123456789012:assumed-role/r/s"
        );
        for bad in ["", "arn:aws:s3:::bucket", "arn:aws:iam::12:user/x", "arn:aws:iam::123456789012:"] {
            assert_eq!(Caller::from_arn(bad).unwrap_err().name(), "ValidationException", "{bad}");
        }
        let root = Caller::root(&AccountId::new("123456789012").unwrap());
        assert_eq!(root.principal_arn(), "arn:aws:iam::123456789012:root");
    }
}
