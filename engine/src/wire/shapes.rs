//! The table of AWS shapes: every operation of the KMS service model (and Trent's batches),
//! which ones this version implements, their input and output members, the model's
//! constraints (enum sets, lengths, ranges, patterns), botocore's paginators and the exception
//! names with their C ABI result codes.
//!
//! The data is generated (`shapes_gen.rs`, written by `tools/shapes-gen` from botocore's
//! model and paginators, Trent's `trent.json` and `ffi/include/trent.h`, checked in; a test
//! fails when it drifts). The same generator writes the Python client's `_shapes.py` and the
//! Go adapter's `shapes_gen.go`, so every surface reads one table. The engine's JSON
//! dispatcher ([`Kms::call_json`](crate::Kms::call_json)) checks each request against it
//! ([`validate`]) and the CLI builds its commands from it.

use std::fmt::Write as _;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

#[rustfmt::skip]
#[path = "shapes_gen.rs"]
mod shapes_gen;

pub use shapes_gen::JSON_OPERATIONS;
use shapes_gen::{ERRORS, OPERATIONS, SHAPES};

/// A shape's index in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShapeId(pub u16);

/// The type of a shape, as the model names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `string` (enums too).
    String,
    /// `blob`: base64 on the wire.
    Blob,
    /// `integer`.
    Integer,
    /// `long`.
    Long,
    /// `boolean`.
    Boolean,
    /// `timestamp`: epoch seconds on the wire.
    Timestamp,
    /// `list`.
    List,
    /// `map`.
    Map,
    /// `structure`.
    Structure,
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    /// The wire name (`KeyId`).
    pub name: &'static str,
    /// Its name in AWS's validation messages (`keyId`).
    pub message_name: &'static str,
    /// Its shape.
    pub shape: ShapeId,
    /// Whether the model requires it.
    pub required: bool,
}

/// A pattern of the model, with what the engine's matcher needs: one character class and a
/// length range (every pattern an implemented operation's input reaches has this form; the
/// generator refuses others).
#[derive(Debug)]
pub struct Pattern {
    /// The pattern as the model writes it (and AWS prints it).
    pub source: &'static str,
    /// The class's character ranges, or `None` for a pattern the matcher cannot read (only
    /// operations Trent does not implement have those).
    pub ranges: Option<&'static [(char, char)]>,
    /// The fewest characters.
    pub min: u32,
    /// The most characters.
    pub max: Option<u32>,
}

impl Pattern {
    /// Whether `s` matches the whole pattern (`None` when the matcher cannot tell).
    pub fn matches(&self, s: &str) -> Option<bool> {
        let ranges = self.ranges?;
        let mut n = 0u32;
        for c in s.chars() {
            if !ranges.iter().any(|&(a, b)| a <= c && c <= b) {
                return Some(false);
            }
            n = n.saturating_add(1);
        }
        Some(n >= self.min && self.max.is_none_or(|m| n <= m))
    }
}

/// A shape.
#[derive(Debug)]
pub struct Shape {
    /// The model's name (`KeyIdType`).
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// A structure's members, in model order.
    pub members: &'static [Member],
    /// A list's member shape, or a map's value shape.
    pub member: Option<ShapeId>,
    /// A map's key shape.
    pub key: Option<ShapeId>,
    /// `min`: a length (strings in characters, blobs in bytes, lists and maps in entries) or,
    /// for numbers, a value.
    pub min: Option<i64>,
    /// `max`, as `min`.
    pub max: Option<i64>,
    /// The pattern a string must match.
    pub pattern: Option<Pattern>,
    /// A string enum's values, in model order.
    pub enum_values: &'static [&'static str],
    /// Whether AWS leaves the value out of messages (plaintexts).
    pub sensitive: bool,
}

impl Shape {
    /// The structure member named `name`.
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        // `members` is 'static, so the reference is too.
        let members: &'static [Member] = self.members;
        members.iter().find(|m| m.name == name)
    }
}

/// botocore's paginator of an operation.
#[derive(Debug)]
pub struct Paginator {
    /// The request member that carries the page token (`Marker`).
    pub input_token: &'static str,
    /// The response member with the next page's token (`NextMarker`).
    pub output_token: &'static str,
    /// The request member that limits a page (`Limit`).
    pub limit_key: &'static str,
    /// The response member that says more pages follow (`Truncated`).
    pub more_results: &'static str,
    /// The response member that holds the items (`Keys`).
    pub result_key: &'static str,
}

/// An operation.
#[derive(Debug)]
pub struct Operation {
    /// The wire name (`Encrypt`).
    pub name: &'static str,
    /// The input shape.
    pub input: Option<ShapeId>,
    /// The output shape.
    pub output: Option<ShapeId>,
    /// The exceptions the model lists for it.
    pub errors: &'static [&'static str],
    /// Whether this version of Trent implements it.
    pub implemented: bool,
    /// An AWS KMS operation (else one of Trent's batch operations).
    pub aws: bool,
    /// Its paginator, if botocore has one.
    pub paginator: Option<Paginator>,
}

impl Operation {
    /// The input shape (an empty structure when the operation has none).
    pub fn input_shape(&self) -> Option<&'static Shape> {
        self.input.map(shape)
    }

    /// The output shape.
    pub fn output_shape(&self) -> Option<&'static Shape> {
        self.output.map(shape)
    }
}

/// An exception name and its result code in the C ABI.
#[derive(Debug)]
pub struct ErrorName {
    /// The AWS name (`NotFoundException`).
    pub name: &'static str,
    /// Its `TRENT_RESULT_*` code, for the exceptions Trent raises.
    pub code: Option<u32>,
}

/// Every operation: the model's by name, then Trent's batches.
pub fn operations() -> &'static [Operation] {
    OPERATIONS
}

/// The operation named `name`.
pub fn operation(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.name == name)
}

/// Every shape an operation reaches, sorted by name.
pub fn shapes() -> &'static [Shape] {
    SHAPES
}

/// A shape by index.
pub fn shape(id: ShapeId) -> &'static Shape {
    &SHAPES[usize::from(id.0)]
}

/// A shape by name.
pub fn shape_named(name: &str) -> Option<&'static Shape> {
    SHAPES.binary_search_by(|s| s.name.cmp(name)).ok().map(|i| &SHAPES[i])
}

/// Every exception name: the model's, then the common AWS errors Trent raises.
pub fn errors() -> &'static [ErrorName] {
    ERRORS
}

// ---------------------------------------------------------------------------------------------
// Validation.

/// What checking a request against its input shape found.
pub enum Invalid {
    /// The body is not JSON, or a member has the wrong type: AWS's `SerializationException`.
    Serialization(serde_json::Error),
    /// Constraints the request fails, in AWS's words, in model order:
    /// `Value 'x' at 'keySpec' failed to satisfy constraint: Member must …`.
    Constraints(Vec<String>),
}

impl Invalid {
    /// AWS's message for failed constraints: `N validation error(s) detected: …; …`.
    pub fn message(errors: &[String]) -> String {
        let n = errors.len();
        let s = if n == 1 { "" } else { "s" };
        format!("{n} validation error{s} detected: {}", errors.join("; "))
    }
}

/// What [`validate`] found of a request that passed.
#[derive(Debug, Default)]
pub struct Checked {
    /// The top-level members present (not null).
    pub present: Vec<&'static str>,
    /// Whether a top-level member is set to `null`.
    pub nulls: bool,
}

/// Checks a JSON request body against the input shape `input`: types (a mismatch is
/// [`Invalid::Serialization`]), then every constraint of the model: required members,
/// enum sets, lengths, ranges and patterns, in nested structures, lists and maps too. Members
/// the shape does not have are skipped, and `null` reads as absent, as AWS reads them. Returns
/// which top-level members are present. Blob values and sensitive values are
/// never quoted in messages; other values are cut to a bounded length.
pub fn validate(input: &'static Shape, body: &[u8]) -> Result<Checked, Invalid> {
    let mut errors = Vec::new();
    let mut present = Checked::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = Check { shape: input, at: None, errors: &mut errors, present: Some(&mut present), want: false };
    seed.deserialize(&mut de).map_err(Invalid::Serialization)?;
    de.end().map_err(Invalid::Serialization)?;
    if errors.is_empty() {
        Ok(present)
    } else {
        errors.sort_by(|a, b| a.0.cmp(&b.0));
        Err(Invalid::Constraints(errors.into_iter().map(|(_, e)| e).collect()))
    }
}

/// A failed constraint: its place in model order (member indexes and list positions) and the
/// message.
type Found = (Vec<usize>, String);

/// Checks one value against `shape`.
struct Check<'a> {
    shape: &'static Shape,
    /// Where the value is: made into AWS's path (`tags.1.member.tagKey`) and a place in model
    /// order only when a constraint fails.
    at: Option<&'a Step<'a>>,
    errors: &'a mut Vec<Found>,
    /// Top level only: the members present.
    present: Option<&'a mut Checked>,
    /// Whether to return the value's text (a list's items, for a message about the list).
    want: bool,
}

/// A checked value's text as AWS quotes it, when asked for and shown.
type Shown = Option<String>;

/// One step of a value's place in the request.
struct Step<'a> {
    what: Where,
    /// The member's index in its structure, or the position in a list or map.
    index: usize,
    parent: Option<&'a Step<'a>>,
}

/// What a step is.
#[derive(Clone, Copy)]
enum Where {
    /// A structure member (its name in messages).
    Member(&'static str),
    /// A list item.
    Item,
    /// A map key.
    Key,
    /// A map value.
    Value,
}

/// The longest value quoted in a message (the C ABI's and the engine's messages stay short).
const MAX_QUOTED: usize = 256;

impl Check<'_> {
    /// A required member missing (or null).
    fn missing(&mut self) {
        let msg = format!("Value null at '{}' failed to satisfy constraint: Member must not be null", self.path());
        self.errors.push((self.sort(), msg));
    }

    /// A failed constraint; `value` is the value as quoted, `None` for values AWS leaves out.
    fn fail(&mut self, value: Option<&str>, constraint: &str) {
        let mut msg = String::from("Value ");
        // Blobs, sensitive values and values AWS does not print are left out (`None`).
        if let Some(v) = value {
            let v = crate::id::truncate_for_message(v);
            let cut: String = v.chars().take(MAX_QUOTED).collect();
            let _ = write!(msg, "'{cut}' ");
        }
        let _ = write!(msg, "at '{}' failed to satisfy constraint: {constraint}", self.path());
        self.errors.push((self.sort(), msg));
    }

    /// Length constraints (`len` in the shape's unit).
    fn length(&mut self, value: Option<&str>, len: usize) {
        let len = i64::try_from(len).unwrap_or(i64::MAX);
        if let Some(min) = self.shape.min
            && len < min
        {
            self.fail(value, &format!("Member must have length greater than or equal to {min}"));
        }
        if let Some(max) = self.shape.max
            && len > max
        {
            self.fail(value, &format!("Member must have length less than or equal to {max}"));
        }
    }

    fn string(&mut self, s: &str) {
        let shown = (!self.shape.sensitive).then_some(s);
        let enums = self.shape.enum_values;
        if !enums.is_empty() && !enums.contains(&s) {
            self.fail(shown, &format!("Member must satisfy enum value set: [{}]", enums.join(", ")));
        }
        self.length(shown, s.chars().count());
        if let Some(p) = &self.shape.pattern
            && p.matches(s) == Some(false)
        {
            self.fail(shown, &format!("Member must satisfy regular expression pattern: {}", p.source));
        }
    }

    /// A blob: standard base64 with padding; its decoded length is checked.
    fn blob<E: de::Error>(&mut self, s: &str) -> Result<(), E> {
        let b = s.as_bytes();
        let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
        let ok = b.len().is_multiple_of(4)
            && pad <= 2
            && b[..b.len() - pad].iter().all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/');
        if !ok {
            return Err(E::custom("a blob member is not valid base64"));
        }
        self.length(None, b.len() / 4 * 3 - pad);
        Ok(())
    }

    /// A JSON integer (`visit_i64`, `visit_u64`): within the range of an Integer or Long
    /// member, then within the member's bounds.
    fn integer<E: de::Error>(mut self, n: i128) -> Result<Shown, E> {
        match self.shape.kind {
            Kind::Integer if i32::try_from(n).is_err() => Err(self.wrong("an integer out of range")),
            Kind::Long if i64::try_from(n).is_err() => Err(self.wrong("an integer out of range")),
            Kind::Integer | Kind::Long => {
                self.number(n);
                Ok(self.want.then(|| n.to_string()))
            }
            Kind::Timestamp => Ok(None),
            _ => Err(self.wrong("a number")),
        }
    }

    fn number(&mut self, n: i128) {
        let shown = n.to_string();
        if let Some(min) = self.shape.min
            && n < i128::from(min)
        {
            self.fail(Some(&shown), &format!("Member must have value greater than or equal to {min}"));
        }
        if let Some(max) = self.shape.max
            && n > i128::from(max)
        {
            self.fail(Some(&shown), &format!("Member must have value less than or equal to {max}"));
        }
    }

    /// The value's path in AWS's form: `tags.1.member.tagKey`.
    fn path(&self) -> String {
        let mut steps = Vec::new();
        let mut at = self.at;
        while let Some(step) = at {
            steps.push(step);
            at = step.parent;
        }
        let mut path = String::new();
        for step in steps.iter().rev() {
            if !path.is_empty() {
                path.push('.');
            }
            let _ = match step.what {
                Where::Member(name) => write!(path, "{name}"),
                Where::Item => write!(path, "{}.member", step.index + 1),
                Where::Key => write!(path, "{}.key", step.index + 1),
                Where::Value => write!(path, "{}.value", step.index + 1),
            };
        }
        path
    }

    /// The value's place in model order: member indexes and list positions from the top.
    fn sort(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = self.at;
        while let Some(step) = at {
            out.push(step.index);
            at = step.parent;
        }
        out.reverse();
        out
    }

    fn child<'b>(&'b mut self, id: ShapeId, step: &'b Step<'b>) -> Check<'b> {
        Check {
            shape: shape(id),
            at: Some(step),
            errors: self.errors,
            present: None,
            want: self.shape.kind == Kind::List,
        }
    }

    fn expected(&self) -> &'static str {
        match self.shape.kind {
            Kind::String => "a string",
            Kind::Blob => "a base64 string",
            Kind::Integer | Kind::Long => "an integer",
            Kind::Boolean => "a boolean",
            Kind::Timestamp => "a timestamp (epoch seconds)",
            Kind::List => "a list",
            Kind::Map => "a map",
            Kind::Structure => "a structure",
        }
    }

    fn wrong<E: de::Error>(&self, found: &str) -> E {
        let path = if self.at.is_none() { "the body".to_owned() } else { format!("'{}'", self.path()) };
        E::custom(format!("{path} must be {}, not {found}", self.expected()))
    }
}

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = Shown;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shown, D::Error> {
        match self.shape.kind {
            Kind::String | Kind::Blob => d.deserialize_str(self),
            Kind::Integer | Kind::Long => d.deserialize_i64(self),
            Kind::Boolean => d.deserialize_bool(self),
            Kind::Timestamp => d.deserialize_f64(self),
            Kind::List => d.deserialize_seq(self),
            Kind::Map | Kind::Structure => d.deserialize_map(self),
        }
    }
}

impl<'de> Visitor<'de> for Check<'_> {
    type Value = Shown;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.expected())
    }

    fn visit_str<E: de::Error>(mut self, s: &str) -> Result<Shown, E> {
        match self.shape.kind {
            Kind::String => {
                self.string(s);
                Ok((self.want && !self.shape.sensitive).then(|| s.to_owned()))
            }
            Kind::Blob => self.blob(s).map(|()| None),
            _ => Err(self.wrong("a string")),
        }
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Shown, E> {
        match self.shape.kind {
            Kind::Boolean => Ok(self.want.then(|| b.to_string())),
            _ => Err(self.wrong("a boolean")),
        }
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Shown, E> {
        self.integer(i128::from(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Shown, E> {
        self.integer(i128::from(n))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shown, E> {
        match self.shape.kind {
            Kind::Timestamp => Ok(None),
            _ => Err(self.wrong("a number with a fraction")),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Shown, E> {
        // Only reached for a null list item or map value (members set to null are skipped):
        // AWS's framework refuses those.
        Err(self.wrong("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Shown, A::Error> {
        let Some(member) = self.shape.member.filter(|_| self.shape.kind == Kind::List) else {
            return Err(self.wrong("a list"));
        };
        let mut n = 0usize;
        // The items' text, for a message about the list's length (AWS quotes `[a, b]`).
        let mut items: Option<Vec<String>> = Some(Vec::new());
        loop {
            let step = Step { what: Where::Item, index: n, parent: self.at };
            let child = self.child(member, &step);
            match seq.next_element_seed(child)? {
                None => break,
                Some(shown) => match (shown, items.as_mut()) {
                    (Some(text), Some(list)) => list.push(text),
                    _ => items = None,
                },
            }
            n += 1;
        }
        let text = items
            .filter(|_| self.shape.min.is_some() || self.shape.max.is_some())
            .map(|i| format!("[{}]", i.join(", ")));
        self.length(text.as_deref(), n);
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Shown, A::Error> {
        match self.shape.kind {
            Kind::Map => {
                let (Some(key), Some(value)) = (self.shape.key, self.shape.member) else {
                    return Err(self.wrong("a map"));
                };
                let mut n = 0usize;
                loop {
                    let step = Step { what: Where::Key, index: n, parent: self.at };
                    let child = self.child(key, &step);
                    if map.next_key_seed(child)?.is_none() {
                        break;
                    }
                    let step = Step { what: Where::Value, index: n, parent: self.at };
                    let child = self.child(value, &step);
                    map.next_value_seed(child)?;
                    n += 1;
                }
                self.length(None, n);
                Ok(None)
            }
            Kind::Structure => {
                let members = self.shape.members;
                let mut seen = vec![false; members.len()];
                while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let Some(i) = members.iter().position(|m| m.name == name) else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    if seen[i] {
                        return Err(de::Error::custom(format!("duplicate member `{name}`")));
                    }
                    seen[i] = true;
                    let m = &members[i];
                    let step = Step { what: Where::Member(m.message_name), index: i, parent: self.at };
                    let child = self.child(m.shape, &step);
                    let present = map.next_value_seed(Nullable(child))?;
                    match (present, self.present.as_deref_mut()) {
                        (false, top) => {
                            seen[i] = false;
                            if let Some(top) = top {
                                top.nulls = true;
                            }
                        }
                        (true, Some(top)) => top.present.push(m.name),
                        (true, None) => {}
                    }
                }
                for (i, m) in members.iter().enumerate() {
                    if m.required && !seen[i] {
                        let step = Step { what: Where::Member(m.message_name), index: i, parent: self.at };
                        self.child(m.shape, &step).missing();
                    }
                }
                Ok(None)
            }
            _ => Err(self.wrong("an object")),
        }
    }
}

/// A structure member's value: `null` reads as absent (`false`), as AWS reads it.
struct Nullable<'a>(Check<'a>);

impl<'de> DeserializeSeed<'de> for Nullable<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Nullable<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.expecting(f)
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        self.0.deserialize(d).map(|_| true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(op: &str, body: &str) -> Result<Vec<&'static str>, String> {
        let input = operation(op).and_then(Operation::input_shape).expect("an input shape");
        validate(input, body.as_bytes()).map(|c| c.present).map_err(|e| match e {
            Invalid::Serialization(e) => format!("SerializationException: {e}"),
            Invalid::Constraints(c) => Invalid::message(&c),
        })
    }

    #[test]
    fn the_table_has_the_model() {
        assert_eq!(operations().iter().filter(|o| o.aws).count(), 54);
        let encrypt = operation("Encrypt").unwrap();
        assert!(encrypt.implemented && encrypt.aws);
        let input = encrypt.input_shape().unwrap();
        assert_eq!(input.name, "EncryptRequest");
        let plaintext = shape(input.member("Plaintext").unwrap().shape);
        assert_eq!(
            (plaintext.kind, plaintext.min, plaintext.max, plaintext.sensitive),
            (Kind::Blob, Some(1), Some(4096), true)
        );
        assert_eq!(operation("ListKeys").unwrap().paginator.as_ref().unwrap().result_key, "Keys");
        assert!(!operation("Sign").unwrap().implemented);
        assert!(shapes().windows(2).all(|w| w[0].name < w[1].name), "sorted by name");
        assert_eq!(shape_named("DataKeySpec").unwrap().enum_values, ["AES_256", "AES_128"]);
    }

    #[test]
    fn aws_messages() {
        assert_eq!(
            check("CreateKey", r#"{"KeySpec":"NotSupportedKeySpec"}"#).unwrap_err(),
            format!(
                "1 validation error detected: Value 'NotSupportedKeySpec' at 'keySpec' failed to satisfy constraint: \
                 Member must satisfy enum value set: [{}]",
                shape_named("KeySpec").unwrap().enum_values.join(", ")
            )
        );
        assert_eq!(
            check("Encrypt", r#"{"Plaintext":""}"#).unwrap_err(),
            "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; \
             Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        // Model order, whatever the order of the body.
        assert_eq!(
            check("ListKeys", r#"{"Marker":"","Limit":0}"#).unwrap_err(),
            "2 validation errors detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value \
             greater than or equal to 1; Value '' at 'marker' failed to satisfy constraint: Member must have length \
             greater than or equal to 1"
        );
        assert_eq!(
            check("CreateAlias", r#"{"AliasName":"alias/a b","TargetKeyId":"k"}"#).unwrap_err(),
            "1 validation error detected: Value 'alias/a b' at 'aliasName' failed to satisfy constraint: Member must \
             satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        );
        assert_eq!(
            check("TagResource", r#"{"KeyId":"k","Tags":[{"TagKey":"a","TagValue":"b"},{"TagKey":""}]}"#).unwrap_err(),
            "2 validation errors detected: Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must \
             have length greater than or equal to 1; Value null at 'tags.2.member.tagValue' failed to satisfy \
             constraint: Member must not be null"
        );
        let tokens: Vec<String> = (0..11).map(|i| format!("\"t{i}\"")).collect();
        let e =
            check("Encrypt", &format!(r#"{{"KeyId":"k","Plaintext":"aGk=","GrantTokens":[{}]}}"#, tokens.join(",")))
                .unwrap_err();
        assert_eq!(
            e,
            "1 validation error detected: Value '[t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10]' at 'grantTokens' failed \
             to satisfy constraint: Member must have length less than or equal to 10"
        );
        // A plaintext of 4097 bytes: its value is never shown.
        let big = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 4097]);
        let e = check("Encrypt", &format!(r#"{{"KeyId":"k","Plaintext":"{big}"}}"#)).unwrap_err();
        assert_eq!(
            e,
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length \
             less than or equal to 4096"
        );
    }

    #[test]
    fn types_and_presence() {
        assert_eq!(check("ListKeys", r#"{"Limit":10,"Marker":null,"Other":[1]}"#).unwrap(), ["Limit"]);
        assert_eq!(check("ListKeys", "{}").unwrap(), Vec::<&str>::new());
        for bad in [r#"{"Limit":"ten"}"#, r#"{"Limit":1.5}"#, r#"{"Limit":5000000000}"#, "[1]", "{", r#"{"Limit":1} x"#]
        {
            assert!(check("ListKeys", bad).unwrap_err().starts_with("SerializationException"), "{bad}");
        }
        assert!(check("Encrypt", r#"{"KeyId":"k","Plaintext":"ab#d"}"#).unwrap_err().contains("not valid base64"));
        assert!(check("DescribeKey", r#"{"KeyId":"a","KeyId":"b"}"#).unwrap_err().contains("duplicate"));
        assert!(check("Encrypt", r#"{"KeyId":"k","Plaintext":"aGk=","EncryptionContext":{"a":1}}"#).is_err());
    }

    #[test]
    fn patterns() {
        let alias = shape_named("AliasNameType").unwrap().pattern.as_ref().unwrap();
        assert_eq!(alias.matches("alias/ok-1_:x"), Some(true));
        assert_eq!(alias.matches("alias/é"), Some(false));
        assert_eq!(alias.matches(""), Some(false));
        let account = shape_named("AccountIdType").unwrap().pattern.as_ref().unwrap();
        assert_eq!(account.matches("111122223333"), Some(true));
        assert_eq!(account.matches("1111222233334"), Some(false));
    }
}
