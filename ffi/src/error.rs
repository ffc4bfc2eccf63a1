//! Result codes, their names and messages, and the optional per-call error detail.

use std::ffi::CString;

use trent::Error;
use trent::OpenError;

/// The result of every fallible call.
///
/// Codes come in stable bands and are never renumbered; new codes are only added.
///
/// - `0`: success.
/// - `1`–`99`: the boundary and the arguments (panic, NULL, bad UTF-8, bad arguments).
/// - `100`–`199`: why an engine refused to open.
/// - `1000`–`1999`: one code per AWS KMS exception, the name `trent_result_name` returns
///   being the exception's wire name (`NotFoundException`, …).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum trent_result {
    /// Success.
    Ok = 0,
    /// The library panicked (a bug); the call had no effect the caller can rely on.
    Panic = 1,
    /// A required pointer argument was NULL (or a buffer pointer was NULL with a length > 0).
    NullParameter = 2,
    /// A text argument was not valid UTF-8.
    InvalidUtf8 = 3,
    /// An argument was out of range or malformed (e.g. a length too large, a NUL inside a
    /// text, a repeated encryption-context key, an unknown option).
    InvalidArgument = 4,
    /// A batch item index was past the end of the batch.
    IndexOutOfRange = 5,
    /// An engine error this version of the C ABI has no code for (a newer engine).
    UnknownException = 99,

    /// The engine's power-on self test failed.
    OpenSelfTest = 100,
    /// Locked memory could not be set up (see `trent_kms_builder_allow_unlocked_memory`).
    OpenLockedMemory = 101,
    /// The engine's configuration is not valid.
    OpenConfig = 102,
    /// The keystore could not be opened or read.
    OpenStore = 103,
    /// The root key could not be had, or is not the keystore's.
    OpenRootKey = 104,

    /// `NotFoundException`: no such key or alias, or a malformed key identifier.
    NotFoundException = 1000,
    /// `DisabledException`: the key is disabled.
    DisabledException = 1001,
    /// `KMSInvalidStateException`: the key's state does not allow the operation.
    KmsInvalidStateException = 1002,
    /// `AlreadyExistsException`: the alias already exists.
    AlreadyExistsException = 1003,
    /// `ConflictException`: a conflicting operation is in progress.
    ConflictException = 1004,
    /// `InvalidCiphertextException`: the ciphertext or its encryption context is not valid.
    InvalidCiphertextException = 1005,
    /// `IncorrectKeyException`: the ciphertext was not encrypted under the key named.
    IncorrectKeyException = 1006,
    /// `InvalidKeyUsageException`: the key's usage or spec does not allow the operation.
    InvalidKeyUsageException = 1007,
    /// `InvalidArnException`: a malformed ARN.
    InvalidArnException = 1008,
    /// `InvalidAliasNameException`: a malformed or reserved alias name.
    InvalidAliasNameException = 1009,
    /// `InvalidMarkerException`: a paging marker this engine did not issue.
    InvalidMarkerException = 1010,
    /// `InvalidGrantTokenException`: a malformed grant token.
    InvalidGrantTokenException = 1011,
    /// `MalformedPolicyDocumentException`: the key policy is not valid.
    MalformedPolicyDocumentException = 1012,
    /// `TagException`: a tag key or value is not valid.
    TagException = 1013,
    /// `UnsupportedOperationException`: not supported for this key or by this build.
    UnsupportedOperationException = 1014,
    /// `LimitExceededException`: a quota was exceeded.
    LimitExceededException = 1015,
    /// `DryRunOperationException`: the dry run would have succeeded.
    DryRunOperationException = 1016,
    /// `AccessDeniedException`: the caller may not perform the operation.
    AccessDeniedException = 1017,
    /// `ValidationException`: the request does not satisfy the model's constraints.
    ValidationException = 1018,
    /// `KMSInternalException`: an internal error (store failure, locked memory exhausted).
    KmsInternalException = 1019,
}

/// Every code, for tables and tests.
const ALL: &[trent_result] = &[
    trent_result::Ok,
    trent_result::Panic,
    trent_result::NullParameter,
    trent_result::InvalidUtf8,
    trent_result::InvalidArgument,
    trent_result::IndexOutOfRange,
    trent_result::UnknownException,
    trent_result::OpenSelfTest,
    trent_result::OpenLockedMemory,
    trent_result::OpenConfig,
    trent_result::OpenStore,
    trent_result::OpenRootKey,
    trent_result::NotFoundException,
    trent_result::DisabledException,
    trent_result::KmsInvalidStateException,
    trent_result::AlreadyExistsException,
    trent_result::ConflictException,
    trent_result::InvalidCiphertextException,
    trent_result::IncorrectKeyException,
    trent_result::InvalidKeyUsageException,
    trent_result::InvalidArnException,
    trent_result::InvalidAliasNameException,
    trent_result::InvalidMarkerException,
    trent_result::InvalidGrantTokenException,
    trent_result::MalformedPolicyDocumentException,
    trent_result::TagException,
    trent_result::UnsupportedOperationException,
    trent_result::LimitExceededException,
    trent_result::DryRunOperationException,
    trent_result::AccessDeniedException,
    trent_result::ValidationException,
    trent_result::KmsInternalException,
];

impl trent_result {
    /// The code for a raw value, if it is one.
    pub fn from_u32(code: u32) -> Option<Self> {
        ALL.iter().copied().find(|c| *c as u32 == code)
    }

    /// The code of an engine error.
    pub fn from_engine(e: &Error) -> Self {
        match e {
            Error::NotFound(_) => Self::NotFoundException,
            Error::Disabled(_) => Self::DisabledException,
            Error::InvalidState(_) => Self::KmsInvalidStateException,
            Error::AlreadyExists(_) => Self::AlreadyExistsException,
            Error::Conflict(_) => Self::ConflictException,
            Error::InvalidCiphertext => Self::InvalidCiphertextException,
            Error::IncorrectKey(_) => Self::IncorrectKeyException,
            Error::InvalidKeyUsage(_) => Self::InvalidKeyUsageException,
            Error::InvalidArn(_) => Self::InvalidArnException,
            Error::InvalidAliasName(_) => Self::InvalidAliasNameException,
            Error::InvalidMarker(_) => Self::InvalidMarkerException,
            Error::InvalidGrantToken(_) => Self::InvalidGrantTokenException,
            Error::MalformedPolicyDocument(_) => Self::MalformedPolicyDocumentException,
            Error::Tag(_) => Self::TagException,
            Error::UnsupportedOperation(_) => Self::UnsupportedOperationException,
            Error::LimitExceeded(_) => Self::LimitExceededException,
            Error::DryRunOperation(_) => Self::DryRunOperationException,
            Error::AccessDenied(_) => Self::AccessDeniedException,
            Error::Validation(_) => Self::ValidationException,
            Error::Internal(_) => Self::KmsInternalException,
            _ => Self::UnknownException,
        }
    }

    /// The code's name: the AWS exception name for the engine band, else a short CamelCase
    /// name (`"NullParameter"`).
    pub fn name(self) -> &'static std::ffi::CStr {
        match self {
            Self::Ok => c"Ok",
            Self::Panic => c"Panic",
            Self::NullParameter => c"NullParameter",
            Self::InvalidUtf8 => c"InvalidUtf8",
            Self::InvalidArgument => c"InvalidArgument",
            Self::IndexOutOfRange => c"IndexOutOfRange",
            Self::UnknownException => c"UnknownException",
            Self::OpenSelfTest => c"OpenSelfTest",
            Self::OpenLockedMemory => c"OpenLockedMemory",
            Self::OpenConfig => c"OpenConfig",
            Self::OpenStore => c"OpenStore",
            Self::OpenRootKey => c"OpenRootKey",
            Self::NotFoundException => c"NotFoundException",
            Self::DisabledException => c"DisabledException",
            Self::KmsInvalidStateException => c"KMSInvalidStateException",
            Self::AlreadyExistsException => c"AlreadyExistsException",
            Self::ConflictException => c"ConflictException",
            Self::InvalidCiphertextException => c"InvalidCiphertextException",
            Self::IncorrectKeyException => c"IncorrectKeyException",
            Self::InvalidKeyUsageException => c"InvalidKeyUsageException",
            Self::InvalidArnException => c"InvalidArnException",
            Self::InvalidAliasNameException => c"InvalidAliasNameException",
            Self::InvalidMarkerException => c"InvalidMarkerException",
            Self::InvalidGrantTokenException => c"InvalidGrantTokenException",
            Self::MalformedPolicyDocumentException => c"MalformedPolicyDocumentException",
            Self::TagException => c"TagException",
            Self::UnsupportedOperationException => c"UnsupportedOperationException",
            Self::LimitExceededException => c"LimitExceededException",
            Self::DryRunOperationException => c"DryRunOperationException",
            Self::AccessDeniedException => c"AccessDeniedException",
            Self::ValidationException => c"ValidationException",
            Self::KmsInternalException => c"KMSInternalException",
        }
    }

    /// A static, one-line description of the code.
    pub fn message(self) -> &'static std::ffi::CStr {
        match self {
            Self::Ok => c"success",
            Self::Panic => c"the library panicked (a bug in Trent)",
            Self::NullParameter => c"a required pointer argument was NULL",
            Self::InvalidUtf8 => c"a text argument was not valid UTF-8",
            Self::InvalidArgument => c"an argument was out of range or malformed",
            Self::IndexOutOfRange => c"the index is past the end",
            Self::UnknownException => c"an engine error this C ABI version has no code for",
            Self::OpenSelfTest => c"the engine's power-on self test failed",
            Self::OpenLockedMemory => c"locked memory could not be set up",
            Self::OpenConfig => c"the engine configuration is not valid",
            Self::OpenStore => c"the keystore could not be opened or read",
            Self::OpenRootKey => c"the root key could not be had or does not match the keystore",
            Self::NotFoundException => c"no such key or alias, or a malformed key identifier",
            Self::DisabledException => c"the key is disabled",
            Self::KmsInvalidStateException => c"the key's state does not allow the operation",
            Self::AlreadyExistsException => c"the resource already exists",
            Self::ConflictException => c"a conflicting operation is in progress",
            Self::InvalidCiphertextException => c"the ciphertext or its encryption context is not valid",
            Self::IncorrectKeyException => c"the ciphertext was not encrypted under the key named",
            Self::InvalidKeyUsageException => c"the key's usage or spec does not allow the operation",
            Self::InvalidArnException => c"a malformed ARN",
            Self::InvalidAliasNameException => c"a malformed or reserved alias name",
            Self::InvalidMarkerException => c"a paging marker this engine did not issue",
            Self::InvalidGrantTokenException => c"a malformed grant token",
            Self::MalformedPolicyDocumentException => c"the key policy is not valid",
            Self::TagException => c"a tag key or value is not valid",
            Self::UnsupportedOperationException => c"the operation is not supported",
            Self::LimitExceededException => c"a quota was exceeded",
            Self::DryRunOperationException => c"the dry run would have succeeded",
            Self::AccessDeniedException => c"the caller may not perform the operation",
            Self::ValidationException => c"the request does not satisfy the model's constraints",
            Self::KmsInternalException => c"an internal error in the engine",
        }
    }
}

/// Why a call failed, inside the crate: a code and a message for the error detail.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: trent_result,
    message: String,
}

impl Failure {
    pub(crate) fn new(code: trent_result, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub(crate) fn null(name: &str) -> Self {
        Self::new(trent_result::NullParameter, format!("{name} is NULL"))
    }

    pub(crate) fn invalid_utf8(name: &str) -> Self {
        Self::new(trent_result::InvalidUtf8, format!("{name} is not valid UTF-8"))
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(trent_result::InvalidArgument, message)
    }

    pub(crate) fn panic() -> Self {
        Self::new(trent_result::Panic, "the library panicked (a bug in Trent)")
    }

    /// The detail handed to C through `trent_error **`.
    pub(crate) fn into_detail(self) -> ErrorDetail {
        let name = self.code.name().to_string_lossy();
        // Messages never contain NUL in practice; replace any rather than fail.
        let text = format!("{name}: {}", self.message).replace('\0', " ");
        let message = CString::new(text).unwrap_or_default();
        ErrorDetail { code: self.code, message }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::new(trent_result::from_engine(&e), e.message())
    }
}

impl From<OpenError> for Failure {
    fn from(e: OpenError) -> Self {
        let code = match &e {
            OpenError::SelfTest(_) => trent_result::OpenSelfTest,
            OpenError::LockedMemory(_) => trent_result::OpenLockedMemory,
            OpenError::Config(_) => trent_result::OpenConfig,
            OpenError::Store(_) => trent_result::OpenStore,
            OpenError::RootKey(_) => trent_result::OpenRootKey,
            _ => trent_result::OpenConfig,
        };
        Self::new(code, e.to_string())
    }
}

/// The detail of one failed call: its code and a message (`trent_error`).
#[derive(Debug)]
pub struct ErrorDetail {
    pub(crate) code: trent_result,
    pub(crate) message: CString,
}
