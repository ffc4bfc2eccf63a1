//! The KMS service model (botocore's `kms-service-2.json` without its documentation, embedded
//! at build time): the subcommands, their flags, required members, and which output members
//! are timestamps all come from it, as they do in the AWS CLI.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

/// The trimmed model (`cli/tools/trim-model.py` writes it).
const MODEL_JSON: &str = include_str!("kms-model.json");

/// The parsed model.
pub struct Model {
    root: Value,
    /// For every member name of every structure, its smallest index in any structure: the
    /// order of object keys in output whose shape is not known (results of `--query`).
    rank: HashMap<String, usize>,
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

/// The model, parsed once.
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        // The model is a constant of this binary, checked by the tests.
        #[allow(clippy::expect_used)]
        let root: Value = serde_json::from_str(MODEL_JSON).expect("the embedded service model is valid JSON");
        let mut rank = HashMap::new();
        if let Some(shapes) = root["shapes"].as_object() {
            for shape in shapes.values() {
                if let Some(members) = shape["memberOrder"].as_array() {
                    for (i, name) in members.iter().filter_map(Value::as_str).enumerate() {
                        let r = rank.entry(name.to_owned()).or_insert(i);
                        *r = (*r).min(i);
                    }
                }
            }
        }
        Model { root, rank }
    })
}

impl Model {
    /// Every operation name of the model, sorted.
    pub fn operations(&self) -> Vec<&str> {
        self.root["operations"].as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    /// The input shape name of `op`.
    pub fn input(&self, op: &str) -> Option<&str> {
        self.root["operations"][op]["input"]["shape"].as_str()
    }

    /// The output shape name of `op`.
    pub fn output(&self, op: &str) -> Option<&str> {
        self.root["operations"][op]["output"]["shape"].as_str()
    }

    /// A shape by name (`Value::Null` if unknown).
    pub fn shape(&self, name: &str) -> &Value {
        &self.root["shapes"][name]
    }

    /// The kind of shape `name`.
    pub fn kind(&self, name: &str) -> Kind {
        match self.shape(name)["type"].as_str() {
            Some("blob") => Kind::Blob,
            Some("integer" | "long") => Kind::Integer,
            Some("boolean") => Kind::Boolean,
            Some("timestamp") => Kind::Timestamp,
            Some("list") => Kind::List,
            Some("map") => Kind::Map,
            Some("structure") => Kind::Structure,
            _ => Kind::String,
        }
    }

    /// The members of structure `name`, in model order: (member name, shape name).
    pub fn members(&self, name: &str) -> Vec<(&str, &str)> {
        let shape = self.shape(name);
        shape["memberOrder"]
            .as_array()
            .map(|order| {
                order
                    .iter()
                    .filter_map(|k| {
                        let k = k.as_str()?;
                        Some((k, shape["members"][k]["shape"].as_str()?))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The required members of structure `name`.
    pub fn required(&self, name: &str) -> Vec<&str> {
        self.shape(name)["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The member shape of list `name`.
    pub fn list_member(&self, name: &str) -> Option<&str> {
        self.shape(name)["member"]["shape"].as_str()
    }

    /// The value shape of map `name`.
    pub fn map_value(&self, name: &str) -> Option<&str> {
        self.shape(name)["value"]["shape"].as_str()
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
    }
}
