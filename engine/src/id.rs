//! Identifiers: key ids, key ARNs, alias names and alias ARNs, parsed at the edge.
//!
//! AWS KMS accepts four forms of key identifier, and which forms an operation accepts
//! depends on the operation ([`IdForms`]):
//!
//! | form | example |
//! |---|---|
//! | key id | `1234abcd-12ab-34cd-56ef-1234567890ab`, `mrk-1234abcd12ab34cd56ef1234567890ab` |
//! | key ARN | `arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab` |
//! | alias name | `alias/ExampleAlias` |
//! | alias ARN | `arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias` |
//!
//! Errors follow AWS: an identifier that is not one of the forms the operation accepts is a
//! `NotFoundException` ("Invalid keyId …"), except that a malformed ARN is an
//! `InvalidArnException` where the operation's model lists that exception; an identifier longer
//! than 2048 characters, or empty, is a `ValidationException`.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Maximum length of a `KeyId` parameter (the model's `KeyIdType`).
pub const MAX_KEY_ID_PARAM_LEN: usize = 2048;
/// Maximum length of an alias name.
pub const MAX_ALIAS_NAME_LEN: usize = 256;
/// The prefix every alias name starts with.
pub const ALIAS_PREFIX: &str = "alias/";
/// The prefix reserved for AWS managed keys.
pub const RESERVED_ALIAS_PREFIX: &str = "alias/aws/";

/// A KMS key id: a UUID, or `mrk-` and 32 hex digits for a multi-Region key.
///
/// Sixteen bytes either way, so it fits the ciphertext header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId {
    bytes: [u8; 16],
    multi_region: bool,
}

impl KeyId {
    /// A fresh random single-Region key id (a version 4 UUID).
    pub fn new_random(random: [u8; 16]) -> Self {
        let uuid = uuid::Builder::from_random_bytes(random).into_uuid();
        Self { bytes: *uuid.as_bytes(), multi_region: false }
    }

    /// A fresh random multi-Region key id (`mrk-…`).
    pub fn new_multi_region(random: [u8; 16]) -> Self {
        Self { bytes: random, multi_region: true }
    }

    /// Builds a key id from its sixteen bytes and its kind.
    pub fn from_bytes(bytes: [u8; 16], multi_region: bool) -> Self {
        Self { bytes, multi_region }
    }

    /// The sixteen bytes that go into the ciphertext header.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.bytes
    }

    /// Whether this is a multi-Region key id (`mrk-…`).
    pub fn is_multi_region(&self) -> bool {
        self.multi_region
    }

    /// Parses the canonical text form. Returns `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(hex_part) = s.strip_prefix("mrk-") {
            if hex_part.len() != 32 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let mut bytes = [0u8; 16];
            hex::decode_to_slice(hex_part, &mut bytes).ok()?;
            return Some(Self { bytes, multi_region: true });
        }
        // Only the hyphenated 36-character form, as AWS prints it (either case of hex).
        parse_hyphenated_uuid(s.as_bytes()).map(|bytes| Self { bytes, multi_region: false })
    }
}

/// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits of either case). On every
/// Encrypt and Decrypt that names a key, so it is written out rather than generic.
fn parse_hyphenated_uuid(s: &[u8]) -> Option<[u8; 16]> {
    const STARTS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    if s.len() != 36 || s[8] != b'-' || s[13] != b'-' || s[18] != b'-' || s[23] != b'-' {
        return None;
    }
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let mut out = [0u8; 16];
    for (byte, &at) in out.iter_mut().zip(STARTS.iter()) {
        *byte = (nibble(s[at])? << 4) | nibble(s[at + 1])?;
    }
    Some(out)
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.multi_region {
            write!(f, "mrk-{}", hex::encode(self.bytes))
        } else {
            fmt::Display::fmt(&uuid::Uuid::from_bytes(self.bytes).hyphenated(), f)
        }
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| invalid_key_id(s))
    }
}

/// An AWS Region name such as `us-east-1`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Region(String);

impl Region {
    /// Validates a Region name: lowercase letters, digits and hyphens, 1–64 characters,
    /// starting with a letter.
    pub fn new(name: &str) -> Result<Self> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok { Ok(Self(name.to_owned())) } else { Err(Error::Validation(format!("Invalid region name: {name}"))) }
    }

    /// The Region name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ARN partition this Region belongs to.
    pub fn partition(&self) -> &'static str {
        if self.0.starts_with("cn-") {
            "aws-cn"
        } else if self.0.starts_with("us-gov-") {
            "aws-us-gov"
        } else if self.0.starts_with("us-iso-") {
            "aws-iso"
        } else if self.0.starts_with("us-isob-") {
            "aws-iso-b"
        } else {
            "aws"
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A twelve-digit AWS account id.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct AccountId(String);

impl AccountId {
    /// Validates an account id: exactly twelve ASCII digits.
    pub fn new(id: &str) -> Result<Self> {
        if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(id.to_owned()))
        } else {
            Err(Error::Validation(format!("Invalid account id: {id} (expected 12 digits)")))
        }
    }

    /// The account id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ARN of the account's root principal, `arn:aws:iam::<account>:root`.
    pub fn root_arn(&self, partition: &str) -> String {
        format!("arn:{partition}:iam::{}:root", self.0)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A valid alias name: `alias/` followed by at least one of `[a-zA-Z0-9:/_-]`, 256
/// characters at most.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct AliasName(String);

impl AliasName {
    /// Parses an alias name (syntax only; see [`AliasName::parse_for_create`] for the
    /// reserved prefix).
    pub fn parse(name: &str) -> Result<Self> {
        if name.is_empty() || name.len() > MAX_ALIAS_NAME_LEN {
            return Err(Error::validation(
                "aliasName",
                &format!("'{}'", truncate_for_message(name)),
                &format!(
                    "Member must have length {}",
                    if name.is_empty() {
                        "greater than or equal to 1".to_owned()
                    } else {
                        format!("less than or equal to {MAX_ALIAS_NAME_LEN}")
                    }
                ),
            ));
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-')) {
            return Err(Error::validation(
                "aliasName",
                &format!("'{name}'"),
                "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
            ));
        }
        match name.strip_prefix(ALIAS_PREFIX) {
            Some(rest) if !rest.is_empty() => Ok(Self(name.to_owned())),
            Some(_) => Err(Error::InvalidAliasName(format!("Alias name must have a name after \"{ALIAS_PREFIX}\": {name}"))),
            None => Err(Error::Validation(
                "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html".into(),
            )),
        }
    }

    /// Parses an alias name that a customer may create or point: the `alias/aws/` prefix is
    /// reserved for AWS managed keys.
    pub fn parse_for_create(name: &str) -> Result<Self> {
        let alias = Self::parse(name)?;
        if alias.is_reserved() {
            return Err(Error::InvalidAliasName(format!(
                "Alias must not begin with '{RESERVED_ALIAS_PREFIX}' ({name}): that prefix is reserved for AWS managed keys"
            )));
        }
        Ok(alias)
    }

    /// Whether the alias uses the reserved `alias/aws/` prefix.
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with(RESERVED_ALIAS_PREFIX)
    }

    /// The full alias name, `alias/…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identifier forms an operation accepts (reference §1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IdForms {
    /// Key id, key ARN, alias name or alias ARN: cryptographic operations and DescribeKey.
    Any,
    /// Key id or key ARN only: management operations and an alias's target.
    KeyOnly,
}

/// A parsed key identifier, not yet resolved against the store.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum KeyRef {
    /// A bare key id.
    Id(KeyId),
    /// A key ARN (Region and account already checked against the engine's).
    Arn(KeyId),
    /// An alias name or alias ARN.
    Alias(AliasName),
}

/// Where a key identifier is parsed: the engine's Region and account, and whether the
/// operation's model lists `InvalidArnException`.
pub(crate) struct IdScope<'a> {
    pub region: &'a Region,
    pub account: &'a AccountId,
}

impl KeyRef {
    /// Parses a `KeyId` parameter for an operation that accepts `forms`.
    ///
    /// `invalid_arn_listed` says whether the operation's model lists `InvalidArnException`;
    /// where it does not, a malformed ARN is a `NotFoundException`.
    pub(crate) fn parse(
        raw: &str,
        forms: IdForms,
        scope: &IdScope<'_>,
        field: &str,
        invalid_arn_listed: bool,
    ) -> Result<Self> {
        check_key_id_param(raw, field)?;
        if raw.starts_with("arn:") {
            return Self::parse_arn(raw, forms, scope, invalid_arn_listed);
        }
        if raw.starts_with(ALIAS_PREFIX) {
            if forms == IdForms::KeyOnly {
                return Err(invalid_key_id(raw));
            }
            // A syntactically bad alias can never exist: NotFound, as AWS answers.
            return AliasName::parse(raw).map(KeyRef::Alias).map_err(|_| alias_not_found_name(raw, scope));
        }
        KeyId::parse(raw).map(KeyRef::Id).ok_or_else(|| invalid_key_id(raw))
    }

    fn parse_arn(raw: &str, forms: IdForms, scope: &IdScope<'_>, invalid_arn_listed: bool) -> Result<Self> {
        let malformed = || {
            if invalid_arn_listed {
                Error::InvalidArn(format!("Invalid arn {raw}"))
            } else {
                Error::NotFound(format!("Invalid arn {raw}"))
            }
        };
        let mut parts = raw.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        if service != "kms" || partition.is_empty() || region.is_empty() || account.is_empty() {
            return Err(malformed());
        }
        let parsed = if let Some(id) = resource.strip_prefix("key/") {
            KeyRef::Arn(KeyId::parse(id).ok_or_else(malformed)?)
        } else if resource.starts_with(ALIAS_PREFIX) {
            if forms == IdForms::KeyOnly {
                return Err(invalid_key_id(raw));
            }
            KeyRef::Alias(AliasName::parse(resource).map_err(|_| malformed())?)
        } else {
            return Err(malformed());
        };
        if region != scope.region.as_str() || partition != scope.region.partition() {
            return Err(Error::NotFound(format!("Invalid arn {region}")));
        }
        if account != scope.account.as_str() {
            // Keys of other accounts are not in this engine.
            return Err(match parsed {
                KeyRef::Alias(_) => Error::NotFound(format!("Alias {raw} is not found.")),
                _ => Error::NotFound(format!("Key '{raw}' does not exist")),
            });
        }
        Ok(parsed)
    }
}

/// Formats a key ARN.
pub fn key_arn(region: &Region, account: &AccountId, id: &KeyId) -> String {
    format!("arn:{}:kms:{}:{}:key/{}", region.partition(), region, account, id)
}

/// Formats an alias ARN.
pub fn alias_arn(region: &Region, account: &AccountId, alias: &AliasName) -> String {
    format!("arn:{}:kms:{}:{}:{}", region.partition(), region, account, alias)
}

/// Checks the model's length constraint on a `KeyId`-typed parameter.
pub(crate) fn check_key_id_param(raw: &str, field: &str) -> Result<()> {
    if raw.is_empty() {
        return Err(Error::validation(field, "''", "Member must have length greater than or equal to 1"));
    }
    if raw.len() > MAX_KEY_ID_PARAM_LEN {
        return Err(Error::validation(
            field,
            &format!("'{}'", truncate_for_message(raw)),
            &format!("Member must have length less than or equal to {MAX_KEY_ID_PARAM_LEN}"),
        ));
    }
    Ok(())
}

pub(crate) fn invalid_key_id(raw: &str) -> Error {
    Error::NotFound(format!("Invalid keyId '{}'", truncate_for_message(raw)))
}

pub(crate) fn alias_not_found_name(raw: &str, scope: &IdScope<'_>) -> Error {
    let shown = if raw.starts_with("arn:") {
        raw.to_owned()
    } else {
        format!("arn:{}:kms:{}:{}:{}", scope.region.partition(), scope.region, scope.account, raw)
    };
    Error::NotFound(format!("Alias {} is not found.", truncate_for_message(&shown)))
}

/// Keeps messages bounded when a caller sends a huge identifier.
pub(crate) fn truncate_for_message(s: &str) -> &str {
    const MAX: usize = 256;
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> (Region, AccountId) {
        (Region::new("us-east-1").unwrap(), AccountId::new("111122223333").unwrap())
    }

    #[test]
    fn key_id_round_trips() {
        let id = KeyId::new_random([7; 16]);
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(KeyId::parse(&text), Some(id));
        let mrk = KeyId::new_multi_region([0xab; 16]);
        assert_eq!(mrk.to_string(), format!("mrk-{}", "ab".repeat(16)));
        assert_eq!(KeyId::parse(&mrk.to_string()), Some(mrk));
        assert_ne!(KeyId::from_bytes([1; 16], true), KeyId::from_bytes([1; 16], false));
    }

    #[test]
    fn uuid_parser_agrees_with_the_uuid_crate() {
        for text in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "1234ABCD-12AB-34CD-56EF-1234567890AB",
            "00000000-0000-0000-0000-000000000000",
        ] {
            assert_eq!(parse_hyphenated_uuid(text.as_bytes()), Some(*uuid::Uuid::parse_str(text).unwrap().as_bytes()));
        }
        for bad in [
            "1234abcd-12ab-34cd-56ef-1234567890a",
            "1234abcd-12ab-34cd-56ef_1234567890ab",
            "1234abcg-12ab-34cd-56ef-1234567890ab",
            "1234abcd112ab-34cd-56ef-1234567890ab",
        ] {
            assert_eq!(parse_hyphenated_uuid(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn key_id_rejects_other_forms() {
        for bad in ["", "abc", "mrk-12", "mrk-zz34abcd12ab34cd56ef1234567890ab", "1234abcd12ab34cd56ef1234567890ab"] {
            assert_eq!(KeyId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_every_form() {
        let (region, account) = scope();
        let s = IdScope { region: &region, account: &account };
        let id = KeyId::new_random([3; 16]);
        let arn = key_arn(&region, &account, &id);
        assert_eq!(KeyRef::parse(&id.to_string(), IdForms::Any, &s, "keyId", true).unwrap(), KeyRef::Id(id));
        assert_eq!(KeyRef::parse(&arn, IdForms::KeyOnly, &s, "keyId", true).unwrap(), KeyRef::Arn(id));
        let alias = AliasName::parse("alias/app").unwrap();
        assert_eq!(KeyRef::parse("alias/app", IdForms::Any, &s, "keyId", true).unwrap(), KeyRef::Alias(alias.clone()));
        let alias_arn = alias_arn(&region, &account, &alias);
        assert_eq!(KeyRef::parse(&alias_arn, IdForms::Any, &s, "keyId", true).unwrap(), KeyRef::Alias(alias));
        let err = KeyRef::parse("alias/app", IdForms::KeyOnly, &s, "keyId", true).unwrap_err();
        assert_eq!(err.name(), "NotFoundException");
        let err =
            KeyRef::parse("arn:aws:kms:us-east-1:111122223333:thing/x", IdForms::Any, &s, "keyId", true).unwrap_err();
        assert_eq!(err.name(), "InvalidArnException");
        let err =
            KeyRef::parse("arn:aws:kms:us-east-1:111122223333:thing/x", IdForms::Any, &s, "keyId", false).unwrap_err();
        assert_eq!(err.name(), "NotFoundException");
        let other_region = arn.replace("us-east-1", "eu-west-1");
        let err = KeyRef::parse(&other_region, IdForms::Any, &s, "keyId", true).unwrap_err();
        assert_eq!(err.message(), "Invalid arn eu-west-1");
    }

    #[test]
    fn alias_names() {
        assert!(AliasName::parse("alias/a-b_c:d/e").is_ok());
        assert_eq!(AliasName::parse("alias/").unwrap_err().name(), "InvalidAliasNameException");
        assert_eq!(AliasName::parse("foo").unwrap_err().name(), "ValidationException");
        assert_eq!(AliasName::parse("alias/a b").unwrap_err().name(), "ValidationException");
        assert_eq!(AliasName::parse("").unwrap_err().name(), "ValidationException");
        assert_eq!(AliasName::parse(&format!("alias/{}", "a".repeat(251))).unwrap_err().name(), "ValidationException");
        assert!(AliasName::parse("alias/aws/ebs").is_ok());
        assert_eq!(AliasName::parse_for_create("alias/aws/ebs").unwrap_err().name(), "InvalidAliasNameException");
    }
}
