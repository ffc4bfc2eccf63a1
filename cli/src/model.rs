//! The KMS service model, as the engine's table of AWS shapes ([`trent::wire::shapes`],
//! generated from botocore's `kms-service-2.json` and paginators by `tools/shapes-gen`): the
//! subcommands, their flags, required members, which members are blobs and timestamps, and
//! which operations the AWS CLI paginates all come from it, as they do in the AWS CLI.

use std::collections::HashMap;
use std::sync::OnceLock;

use trent::wire::shapes::{self, Kind as ShapeKind, Paginator, Shape};

/// The model.
pub struct Model {
    /// For every member name of every structure, its smallest index in any structure: the
    /// order of object keys in output whose shape is not known (results of `--query`).
    rank: HashMap<&'static str, usize>,
    /// Every AWS operation under its AWS CLI name (`generate-data-key`), sorted by operation.
    commands: Vec<(String, &'static str)>,
}

/// The kind of a shape, as the CLI parses and prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `string` (also enums).
    String,
    /// `blob`: base64 on the command line and in output, raw bytes with `fileb://`.
    Blob,
    /// `integer` or `long`.
    Integer,
    /// `boolean`: `--flag` / `--no-flag`.
    Boolean,
    /// `timestamp`.
    Timestamp,
    /// `list`.
    List,
    /// `map`.
    Map,
    /// `structure`.
    Structure,
}

/// The model, indexed once.
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut rank = HashMap::new();
        for shape in shapes::shapes() {
            for (i, m) in shape.members.iter().enumerate() {
                let r = rank.entry(m.name).or_insert(i);
                *r = (*r).min(i);
            }
        }
        let commands = shapes::operations().iter().filter(|o| o.aws).map(|o| (kebab(o.name), o.name)).collect();
        Model { rank, commands }
    })
}

fn named(name: &str) -> Option<&'static Shape> {
    shapes::shape_named(name)
}

impl Model {
    /// Every AWS operation of the model, sorted.
    pub fn operations(&self) -> Vec<&'static str> {
        shapes::operations().iter().filter(|o| o.aws).map(|o| o.name).collect()
    }

    /// The operation whose AWS CLI name is `command` (`generate-data-key`).
    pub fn operation_named(&self, command: &str) -> Option<&'static str> {
        self.commands.iter().find(|(c, _)| c == command).map(|(_, op)| *op)
    }

    /// The input shape name of `op`.
    pub fn input(&self, op: &str) -> Option<&'static str> {
        shapes::operation(op)?.input_shape().map(|s| s.name)
    }

    /// The output shape name of `op`.
    pub fn output(&self, op: &str) -> Option<&'static str> {
        shapes::operation(op)?.output_shape().map(|s| s.name)
    }

    /// botocore's paginator of `op`.
    pub fn paginator(&self, op: &str) -> Option<&'static Paginator> {
        shapes::operation(op)?.paginator.as_ref()
    }

    /// The kind of shape `name`.
    pub fn kind(&self, name: &str) -> Kind {
        match named(name).map(|s| s.kind) {
            Some(ShapeKind::Blob) => Kind::Blob,
            Some(ShapeKind::Integer | ShapeKind::Long) => Kind::Integer,
            Some(ShapeKind::Boolean) => Kind::Boolean,
            Some(ShapeKind::Timestamp) => Kind::Timestamp,
            Some(ShapeKind::List) => Kind::List,
            Some(ShapeKind::Map) => Kind::Map,
            Some(ShapeKind::Structure) => Kind::Structure,
            Some(ShapeKind::String) | None => Kind::String,
        }
    }

    /// The members of structure `name`, in model order: (member name, shape name).
    pub fn members(&self, name: &str) -> Vec<(&'static str, &'static str)> {
        named(name)
            .map(|s| s.members.iter().map(|m| (m.name, shapes::shape(m.shape).name)).collect())
            .unwrap_or_default()
    }

    /// The required members of structure `name`.
    pub fn required(&self, name: &str) -> Vec<&'static str> {
        named(name).map(|s| s.members.iter().filter(|m| m.required).map(|m| m.name).collect()).unwrap_or_default()
    }

    /// The member shape of list `name`.
    pub fn list_member(&self, name: &str) -> Option<&'static str> {
        named(name).filter(|s| s.kind == ShapeKind::List)?.member.map(|m| shapes::shape(m).name)
    }

    /// The value shape of map `name`.
    pub fn map_value(&self, name: &str) -> Option<&'static str> {
        named(name).filter(|s| s.kind == ShapeKind::Map)?.member.map(|m| shapes::shape(m).name)
    }

    /// The enum values of string shape `name` (empty if it is not an enum).
    pub fn enum_values(&self, name: &str) -> &'static [&'static str] {
        named(name).map_or(&[], |s| s.enum_values)
    }

    /// The `max` of shape `name` (a blob's most bytes).
    pub fn max(&self, name: &str) -> Option<i64> {
        named(name)?.max
    }

    /// Where a key with no known shape goes among its siblings (see [`Model::rank`]).
    pub fn rank(&self, key: &str) -> usize {
        self.rank.get(key).copied().unwrap_or(usize::MAX)
    }
}

/// The AWS CLI's name of an operation or member: `GenerateDataKeyWithoutPlaintext` →
/// `generate-data-key-without-plaintext`, `KeyId` → `key-id`.
pub fn kebab(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('-');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_names_match_the_aws_cli() {
        assert_eq!(kebab("GenerateDataKeyWithoutPlaintext"), "generate-data-key-without-plaintext");
        assert_eq!(kebab("KeyId"), "key-id");
        assert_eq!(kebab("CiphertextBlob"), "ciphertext-blob");
        assert_eq!(kebab("XksKeyId"), "xks-key-id");
        assert_eq!(kebab("AWSAccountId"), "aws-account-id");
        assert_eq!(kebab("ReEncrypt"), "re-encrypt");
    }

    #[test]
    fn the_embedded_model_has_the_operations() {
        let m = model();
        assert!(m.operations().contains(&"Encrypt"));
        assert_eq!(m.input("Encrypt"), Some("EncryptRequest"));
        assert_eq!(m.kind("PlaintextType"), Kind::Blob);
        assert_eq!(m.required("EncryptRequest"), vec!["KeyId", "Plaintext"]);
        assert_eq!(m.operations().len(), 54);
        assert_eq!(m.paginator("ListKeys").map(|p| p.result_key), Some("Keys"));
        assert!(m.paginator("Encrypt").is_none());
    }
}
