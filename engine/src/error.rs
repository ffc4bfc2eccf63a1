//! Errors: one variant per AWS KMS exception name.
//!
//! Every fallible operation of [`Kms`](crate::Kms) returns [`Error`]. The variant names the
//! exception exactly as AWS KMS does on the wire (`__type`), so adapters (C ABI, CLI, HTTP
//! server, bindings) map errors without tables of their own: [`Error::name`] gives the wire
//! name, [`Error::http_status`] the status code, [`Error::message`] the text.
//!
//! Messages never carry plaintext, key material or any detail about *why* a ciphertext failed
//! to decrypt: every decryption failure is the same [`Error::InvalidCiphertext`] with the same
//! message, so the error cannot serve as an oracle.

use std::fmt;

/// An AWS KMS exception with its message.
///
/// The variant is the exception name without the `Exception` suffix (where AWS has one);
/// [`Error::name`] returns the full wire name.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub enum Error {
    /// `NotFoundException`: no such key or alias, or a malformed key identifier.
    NotFound(String),
    /// `DisabledException`: the key is disabled.
    Disabled(String),
    /// `KMSInvalidStateException`: the key's state does not allow the operation.
    InvalidState(String),
    /// `AlreadyExistsException`: the alias already exists.
    AlreadyExists(String),
    /// `ConflictException`: a conflicting operation is in progress.
    Conflict(String),
    /// `InvalidCiphertextException`: the ciphertext or its encryption context is not valid.
    /// Deliberately carries no detail.
    InvalidCiphertext,
    /// `IncorrectKeyException`: the ciphertext was not encrypted under the key named.
    IncorrectKey(String),
    /// `InvalidKeyUsageException`: the key's usage or spec does not allow the operation.
    InvalidKeyUsage(String),
    /// `InvalidArnException`: a malformed ARN.
    InvalidArn(String),
    /// `InvalidAliasNameException`: a malformed or reserved alias name.
    InvalidAliasName(String),
    /// `InvalidMarkerException`: a paging marker this engine did not issue.
    InvalidMarker(String),
    /// `InvalidGrantTokenException`: a malformed grant token.
    InvalidGrantToken(String),
    /// `MalformedPolicyDocumentException`: the key policy is not valid.
    MalformedPolicyDocument(String),
    /// `TagException`: a tag key or value is not valid.
    Tag(String),
    /// `UnsupportedOperationException`: the operation is not supported for this key, or by
    /// this build (the message names the feature that enables it).
    UnsupportedOperation(String),
    /// `LimitExceededException`: a quota was exceeded.
    LimitExceeded(String),
    /// `DryRunOperationException`: the dry run would have succeeded.
    DryRunOperation(String),
    /// `AccessDeniedException`: the caller may not perform the operation on the resource.
    AccessDenied(String),
    /// `ValidationException`: the request does not satisfy the model's constraints.
    Validation(String),
    /// `KMSInternalException`: an internal error (store failure, locked memory exhausted).
    Internal(String),
}

/// Shorthand for `Result<T, trent::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The message every decryption failure carries.
const INVALID_CIPHERTEXT_MESSAGE: &str = "The ciphertext is invalid or was not encrypted under a key the request can use, or the encryption context does not match.";

impl Error {
    /// The AWS wire name of the exception, e.g. `"NotFoundException"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "NotFoundException",
            Self::Disabled(_) => "DisabledException",
            Self::InvalidState(_) => "KMSInvalidStateException",
            Self::AlreadyExists(_) => "AlreadyExistsException",
            Self::Conflict(_) => "ConflictException",
            Self::InvalidCiphertext => "InvalidCiphertextException",
            Self::IncorrectKey(_) => "IncorrectKeyException",
            Self::InvalidKeyUsage(_) => "InvalidKeyUsageException",
            Self::InvalidArn(_) => "InvalidArnException",
            Self::InvalidAliasName(_) => "InvalidAliasNameException",
            Self::InvalidMarker(_) => "InvalidMarkerException",
            Self::InvalidGrantToken(_) => "InvalidGrantTokenException",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            Self::Tag(_) => "TagException",
            Self::UnsupportedOperation(_) => "UnsupportedOperationException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::DryRunOperation(_) => "DryRunOperationException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::Validation(_) => "ValidationException",
            Self::Internal(_) => "KMSInternalException",
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidCiphertext => INVALID_CIPHERTEXT_MESSAGE,
            Self::NotFound(m)
            | Self::Disabled(m)
            | Self::InvalidState(m)
            | Self::AlreadyExists(m)
            | Self::Conflict(m)
            | Self::IncorrectKey(m)
            | Self::InvalidKeyUsage(m)
            | Self::InvalidArn(m)
            | Self::InvalidAliasName(m)
            | Self::InvalidMarker(m)
            | Self::InvalidGrantToken(m)
            | Self::MalformedPolicyDocument(m)
            | Self::Tag(m)
            | Self::UnsupportedOperation(m)
            | Self::LimitExceeded(m)
            | Self::DryRunOperation(m)
            | Self::AccessDenied(m)
            | Self::Validation(m)
            | Self::Internal(m) => m,
        }
    }

    /// The HTTP status AWS KMS answers this exception with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Disabled(_) | Self::InvalidState(_) | Self::AlreadyExists(_) | Self::Conflict(_) => 409,
            Self::DryRunOperation(_) => 412,
            Self::Internal(_) => 500,
            _ => 400,
        }
    }

    /// Whether a client may retry the same request unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Internal(_))
    }

    /// A `ValidationException` in AWS's wording for one failed constraint.
    ///
    /// `value_desc` is the quoted value (`"'5'"`), or empty for values AWS does not echo
    /// (plaintext, blobs).
    pub(crate) fn validation(field: &str, value_desc: &str, constraint: &str) -> Self {
        let value = if value_desc.is_empty() { String::new() } else { format!(" {value_desc}") };
        Self::Validation(format!(
            "1 validation error detected: Value{value} at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:?})", self.name(), self.message())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name(), self.message())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_statuses() {
        assert_eq!(Error::InvalidState("x".into()).name(), "KMSInvalidStateException");
        assert_eq!(Error::NotFound("x".into()).http_status(), 404);
        assert_eq!(Error::Disabled("x".into()).http_status(), 409);
        assert_eq!(Error::InvalidCiphertext.http_status(), 400);
        assert_eq!(
            Error::InvalidCiphertext.to_string(),
            format!("InvalidCiphertextException: {INVALID_CIPHERTEXT_MESSAGE}")
        );
    }
}
