//! Trent's table of AWS shapes, written from the service model.
//!
//! Inputs (all in the repository):
//! - `tools/shapes-gen/model/kms-service-2.json`: botocore's KMS service model, verbatim (the
//!   authority for operations, members, constraints and error names);
//! - `tools/shapes-gen/model/kms-paginators-1.json`: botocore's KMS paginators, verbatim;
//! - `tools/shapes-gen/model/trent.json`: Trent's part: the AWS operations this version
//!   implements, Trent's batch operations and their shapes (in the model's form), the common
//!   AWS errors the engine raises, and the Go adapter's hand-written operations;
//! - `ffi/include/trent.h`: the result codes (`TRENT_RESULT_*`) of the exceptions.
//!
//! Outputs (checked in; `tests/drift.rs` fails when they differ from what this writes):
//! - `engine/src/wire/shapes_gen.rs`: the table the engine's JSON dispatcher validates with and
//!   the CLI is built from;
//! - `bindings/python/trent/_shapes.py`: the Python client's operations, blob, timestamp and
//!   map members, paginators and error codes;
//! - `bindings/go/awskms/shapes_gen.go` and `api_gen.go`: the Go adapter's tables, its `API`
//!   interface and the methods of the operations without a hand-written fast path.
//!
//! Run `cargo run -p trent-shapes-gen` from anywhere in the workspace to rewrite them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};

/// A JSON object read with its members in document order, as (name, value) pairs: the model's
/// member order is the order AWS lists members in, and serde_json's map sorts them.
#[derive(Clone, Debug)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = a.next_entry()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// Reads a JSON file into `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// The inputs, as the model writes them (members the table does not use are left out).

/// A reference to a shape: `{"shape": "KeyIdType"}`.
#[derive(Clone, Debug, Deserialize)]
struct Ref {
    shape: String,
}

/// An operation of the model or of trent.json.
#[derive(Clone, Debug, Deserialize)]
struct ModelOperation {
    input: Option<Ref>,
    output: Option<Ref>,
    #[serde(default)]
    errors: Vec<Ref>,
}

/// A shape of the model or of trent.json.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
struct ModelShape {
    #[serde(rename = "type")]
    kind: String,
    members: Ordered<Ref>,
    required: Vec<String>,
    member: Option<Ref>,
    key: Option<Ref>,
    value: Option<Ref>,
    min: Option<i64>,
    max: Option<i64>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    enum_values: Vec<String>,
    sensitive: bool,
    exception: bool,
}

impl Default for ModelShape {
    fn default() -> Self {
        Self {
            kind: "string".to_owned(),
            members: Ordered::default(),
            required: Vec::new(),
            member: None,
            key: None,
            value: None,
            min: None,
            max: None,
            pattern: None,
            enum_values: Vec::new(),
            sensitive: false,
            exception: false,
        }
    }
}

/// botocore's `kms-service-2.json`.
#[derive(Deserialize)]
struct ServiceModel {
    operations: Ordered<ModelOperation>,
    shapes: Ordered<ModelShape>,
}

/// botocore's `kms-paginators-1.json`.
#[derive(Deserialize)]
struct Paginators {
    pagination: BTreeMap<String, Paginator>,
}

/// `trent.json`: Trent's part of the table.
#[derive(Deserialize)]
struct TrentModel {
    implemented: Vec<String>,
    go_hand_written: Vec<String>,
    common_errors: Vec<String>,
    operations: Ordered<ModelOperation>,
    shapes: Ordered<ModelShape>,
}

// ---------------------------------------------------------------------------------------------
// The table.

/// One shape of the table.
#[derive(Clone, Debug, Default)]
pub struct Shape {
    /// The model's name.
    pub name: String,
    /// `string`, `blob`, `integer`, `long`, `boolean`, `timestamp`, `list`, `map`, `structure`.
    pub kind: String,
    /// Structure members: (name, shape, required).
    pub members: Vec<(String, String, bool)>,
    /// A list's member shape, or a map's value shape.
    pub member: Option<String>,
    /// A map's key shape.
    pub key: Option<String>,
    /// `min` (length, or value for numbers).
    pub min: Option<i64>,
    /// `max`.
    pub max: Option<i64>,
    /// The pattern, as the model writes it.
    pub pattern: Option<String>,
    /// The enum values, in model order.
    pub enum_values: Vec<String>,
    /// Whether AWS leaves the value out of messages.
    pub sensitive: bool,
}

/// A paginator (botocore's paginators-1.json).
#[derive(Clone, Debug, Deserialize)]
pub struct Paginator {
    /// The request member that carries the page token.
    pub input_token: String,
    /// The response member that carries the next page token.
    pub output_token: String,
    /// The request member that limits a page.
    pub limit_key: String,
    /// The response member that says more pages follow.
    pub more_results: String,
    /// The response member that holds the page's items.
    pub result_key: String,
}

impl Paginator {
    /// Its members under botocore's names, in botocore's order: (name, value).
    pub fn fields(&self) -> [(&'static str, &str); 5] {
        [
            ("input_token", &self.input_token),
            ("output_token", &self.output_token),
            ("limit_key", &self.limit_key),
            ("more_results", &self.more_results),
            ("result_key", &self.result_key),
        ]
    }
}

/// One operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The wire name.
    pub name: String,
    /// The input shape.
    pub input: Option<String>,
    /// The output shape.
    pub output: Option<String>,
    /// The errors the model lists for it.
    pub errors: Vec<String>,
    /// Whether this version of Trent implements it.
    pub implemented: bool,
    /// An AWS KMS operation (else one of Trent's batches).
    pub aws: bool,
    /// Its paginator.
    pub paginator: Option<Paginator>,
    /// Whether the Go adapter's method for it is written by hand.
    pub go_hand_written: bool,
}

/// The whole table.
#[derive(Clone, Debug)]
pub struct Table {
    /// AWS operations by name, then Trent's batches in trent.json's order.
    pub operations: Vec<Operation>,
    /// Every shape an operation's input or output reaches, by name.
    pub shapes: BTreeMap<String, Shape>,
    /// Exception names: the model's (sorted), then the common ones Trent raises.
    pub errors: Vec<String>,
    /// Result codes of exceptions from trent.h: name → code.
    pub codes: BTreeMap<String, u32>,
}

fn shape_of(name: &str, s: &ModelShape) -> Shape {
    let shape = |r: &Option<Ref>| r.as_ref().map(|r| r.shape.clone());
    Shape {
        name: name.to_owned(),
        kind: s.kind.clone(),
        members: s.members.0.iter().map(|(m, r)| (m.clone(), r.shape.clone(), s.required.contains(m))).collect(),
        member: shape(&s.member).or_else(|| shape(&s.value)),
        key: shape(&s.key),
        min: s.min,
        max: s.max,
        pattern: s.pattern.clone(),
        enum_values: s.enum_values.clone(),
        sensitive: s.sensitive,
    }
}

/// The exceptions' result codes from trent.h's `enum trent_result`: SCREAMING name → code,
/// codes from 1000 (one per AWS exception).
pub fn header_codes(header: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for line in header.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("TRENT_RESULT_") else { continue };
        let Some((name, value)) = rest.split_once('=') else { continue };
        let value = value.trim().trim_end_matches(',');
        if let Ok(code) = value.parse::<u32>()
            && code >= 1000
        {
            out.insert(name.trim().to_owned(), code);
        }
    }
    out
}

/// Whether trent.h's result code `scream` (`KMS_INVALID_STATE_EXCEPTION`, as cbindgen spells
/// it) names the exception `name` (`KMSInvalidStateException`): the same letters but for case
/// and underscores.
pub fn names_exception(scream: &str, name: &str) -> bool {
    scream.replace('_', "").eq_ignore_ascii_case(name)
}

/// The repository's root (this crate is `tools/shapes-gen`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the table from the inputs under `root`.
pub fn table(root: &Path) -> Result<Table, String> {
    let dir = root.join("tools/shapes-gen/model");
    let model: ServiceModel = read_json(&dir.join("kms-service-2.json"))?;
    let pages: Paginators = read_json(&dir.join("kms-paginators-1.json"))?;
    let trent: TrentModel = read_json(&dir.join("trent.json"))?;
    let header_path = root.join("ffi/include/trent.h");
    let header = std::fs::read_to_string(&header_path).map_err(|e| format!("{}: {e}", header_path.display()))?;

    let (implemented, hand) = (&trent.implemented, &trent.go_hand_written);
    let mut all: BTreeMap<String, ModelShape> = model.shapes.0.into_iter().collect();
    for (name, s) in trent.shapes.0 {
        if all.insert(name.clone(), s).is_some() {
            return Err(format!("trent.json redefines the model's shape {name}"));
        }
    }

    let mut operations = Vec::new();
    let mut model_ops = model.operations.0;
    model_ops.sort_by(|a, b| a.0.cmp(&b.0));
    for name in implemented {
        if !model_ops.iter().any(|(n, _)| n == name) {
            return Err(format!("trent.json implements {name}, which the model does not have"));
        }
    }
    for name in hand {
        if !implemented.contains(name) {
            return Err(format!("trent.json: the Go adapter's {name} is not an implemented operation"));
        }
    }
    let op = |name: String, o: ModelOperation, aws: bool| Operation {
        input: o.input.map(|r| r.shape),
        output: o.output.map(|r| r.shape),
        errors: o.errors.into_iter().map(|r| r.shape).collect(),
        implemented: !aws || implemented.contains(&name),
        aws,
        paginator: pages.pagination.get(&name).cloned(),
        go_hand_written: hand.contains(&name),
        name,
    };
    for (name, o) in model_ops {
        operations.push(op(name, o, true));
    }
    for (name, o) in trent.operations.0 {
        operations.push(op(name, o, false));
    }

    // Every shape an operation reaches.
    let mut shapes = BTreeMap::new();
    let mut todo: Vec<String> =
        operations.iter().flat_map(|o| o.input.iter().chain(o.output.iter())).cloned().collect();
    while let Some(name) = todo.pop() {
        if shapes.contains_key(&name) {
            continue;
        }
        let s = all.get(&name).ok_or_else(|| format!("no shape {name}"))?;
        let shape = shape_of(&name, s);
        todo.extend(shape.members.iter().map(|(_, s, _)| s.clone()));
        todo.extend(shape.member.iter().cloned());
        todo.extend(shape.key.iter().cloned());
        shapes.insert(name, shape);
    }

    // Patterns reachable from an implemented operation's input must be ones the engine checks.
    for o in operations.iter().filter(|o| o.implemented) {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = o.input.iter().cloned().collect();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let s = &shapes[&name];
            if let Some(p) = &s.pattern
                && compile_pattern(p).is_none()
            {
                return Err(format!(
                    "{}: the pattern {p:?} of {name} is outside what the engine's matcher reads \
                     (one character class with a quantifier); extend engine/src/wire/shapes.rs",
                    o.name
                ));
            }
            todo.extend(s.members.iter().map(|(_, s, _)| s.clone()));
            todo.extend(s.member.iter().cloned());
            todo.extend(s.key.iter().cloned());
        }
    }

    let mut errors: Vec<String> =
        all.iter().filter(|(n, s)| s.exception && !n.is_empty()).map(|(n, _)| n.clone()).collect();
    errors.sort();
    for e in trent.common_errors {
        if !errors.contains(&e) {
            errors.push(e);
        }
    }
    let mut codes = BTreeMap::new();
    for (scream, code) in header_codes(&header) {
        let name = errors
            .iter()
            .find(|e| names_exception(&scream, e))
            .ok_or_else(|| format!("trent.h's TRENT_RESULT_{scream} names no exception of the model or trent.json"))?;
        codes.insert(name.clone(), code);
    }
    Ok(Table { operations, shapes, errors, codes })
}

/// A compiled pattern: the character class's ranges, the fewest and the most characters.
pub type Compiled = (Vec<(char, char)>, u32, Option<u32>);

/// A pattern the engine checks without a regular-expression engine: optional `^`, one
/// character class (`[…]` or `\w`), a quantifier (`+`, `*`, `{n}`, `{n,m}`), optional `$`.
/// Returns the class's ranges and the length bounds.
pub fn compile_pattern(p: &str) -> Option<Compiled> {
    let mut s: &str = p.strip_prefix('^').unwrap_or(p);
    s = s.strip_suffix('$').unwrap_or(s);
    let mut ranges = Vec::new();
    let rest;
    if let Some(r) = s.strip_prefix("\\w") {
        push_escape('w', &mut ranges);
        rest = r;
    } else {
        let body = s.strip_prefix('[')?;
        let end = find_class_end(body)?;
        let (class, r) = (&body[..end], &body[end + 1..]);
        rest = r;
        let chars: Vec<char> = class.chars().collect();
        let mut i = 0;
        let mut items: Vec<(char, char)> = Vec::new();
        let mut last_was_range = false;
        while i < chars.len() {
            if chars[i] == '-' && last_was_range {
                // A `-` right after a range is itself (Java reads `[0-9-_]` so).
                items.push(('-', '-'));
                i += 1;
                last_was_range = false;
                continue;
            }
            let (c, next) = match chars[i] {
                '\\' => {
                    let e = *chars.get(i + 1)?;
                    match e {
                        'w' | 's' | 'd' => {
                            push_escape(e, &mut items);
                            i += 2;
                            last_was_range = true;
                            continue;
                        }
                        'u' => {
                            let hex: String = chars.get(i + 2..i + 6)?.iter().collect();
                            (char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?, i + 6)
                        }
                        _ => (e, i + 2),
                    }
                }
                '[' | ']' => return None,
                c => (c, i + 1),
            };
            // A range `c-d` (a `-` after a range, or at either end, is itself).
            if chars.get(next) == Some(&'-') && next + 1 < chars.len() {
                let (d, after) = match chars[next + 1] {
                    '\\' => {
                        let e = *chars.get(next + 2)?;
                        if e == 'u' {
                            let hex: String = chars.get(next + 3..next + 7)?.iter().collect();
                            (char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?, next + 7)
                        } else {
                            (e, next + 3)
                        }
                    }
                    d => (d, next + 2),
                };
                items.push((c, d));
                i = after;
                last_was_range = true;
            } else {
                items.push((c, c));
                i = next;
                last_was_range = false;
            }
        }
        ranges = items;
    }
    let (min, max) = match rest {
        "+" => (1, None),
        "*" => (0, None),
        q => {
            let inner = q.strip_prefix('{')?.strip_suffix('}')?;
            match inner.split_once(',') {
                Some((a, b)) => (a.parse().ok()?, Some(b.parse().ok()?)),
                None => {
                    let n = inner.parse().ok()?;
                    (n, Some(n))
                }
            }
        }
    };
    ranges.sort();
    Some((ranges, min, max))
}

fn find_class_end(body: &str) -> Option<usize> {
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b']' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn push_escape(e: char, out: &mut Vec<(char, char)>) {
    match e {
        'w' => out.extend([('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')]),
        'd' => out.push(('0', '9')),
        // Java's \s: space, \t, \n, \x0B, \f, \r.
        _ => out.extend([('\t', '\r'), (' ', ' ')]),
    }
}

// ---------------------------------------------------------------------------------------------
// Emitters.

/// lowerCamel, as AWS names members in validation messages: `KeyId` → `keyId`.
pub fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn q(s: &str) -> String {
    format!("{s:?}")
}

fn list(items: &[String]) -> String {
    items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
}

/// `input_token` → `InputToken` (Go's field names).
fn upper_camel(snake: &str) -> String {
    snake.split('_').flat_map(|w| w.chars().take(1).flat_map(char::to_uppercase).chain(w.chars().skip(1))).collect()
}

/// A paginator's fields as `name: "value", …`, each name written by `name`.
fn fields(p: &Paginator, name: impl Fn(&str) -> String) -> String {
    p.fields().iter().map(|(k, v)| format!("{}: {}", name(k), q(v))).collect::<Vec<_>>().join(", ")
}

impl Table {
    fn index(&self, name: &str) -> usize {
        self.shapes.keys().position(|k| k == name).unwrap_or(usize::MAX)
    }

    /// Member names of the given kind anywhere under `shape` (through lists, maps, structures).
    fn names_of_kind(&self, shape: &str, kind: &str, out: &mut BTreeSet<String>, seen: &mut BTreeSet<String>) {
        if !seen.insert(shape.to_owned()) {
            return;
        }
        let Some(s) = self.shapes.get(shape) else { return };
        for (m, target, _) in &s.members {
            if self.shapes.get(target).is_some_and(|t| t.kind == kind) {
                out.insert(m.clone());
            }
            self.names_of_kind(target, kind, out, seen);
        }
        if let Some(m) = &s.member {
            self.names_of_kind(m, kind, out, seen);
        }
    }

    /// Member names of `kind` in every operation's input (`input`) or output.
    pub fn member_names(&self, kind: &str, input: bool) -> Vec<String> {
        let mut out = BTreeSet::new();
        for o in &self.operations {
            let shape = if input { &o.input } else { &o.output };
            if let Some(s) = shape {
                self.names_of_kind(s, kind, &mut out, &mut BTreeSet::new());
            }
        }
        out.into_iter().collect()
    }

    /// The top-level members of an operation's input or output.
    pub fn members(&self, shape: Option<&String>) -> Vec<String> {
        shape
            .and_then(|s| self.shapes.get(s))
            .map(|s| s.members.iter().map(|m| m.0.clone()).collect())
            .unwrap_or_default()
    }

    /// The Rust table.
    pub fn rust(&self) -> String {
        let mut o = String::new();
        o.push_str(HEADER_RUST);
        o.push_str("use super::{ErrorName, Kind, Member, Operation, Paginator, Pattern, Shape, ShapeId};\n\n");
        o.push_str("/// Every shape an operation reaches, by name.\npub(super) static SHAPES: &[Shape] = &[\n");
        for s in self.shapes.values() {
            let kind = match s.kind.as_str() {
                "string" => "String",
                "blob" => "Blob",
                "integer" => "Integer",
                "long" => "Long",
                "boolean" => "Boolean",
                "timestamp" => "Timestamp",
                "list" => "List",
                "map" => "Map",
                _ => "Structure",
            };
            let members = s
                .members
                .iter()
                .map(|(m, t, r)| {
                    format!(
                        "Member {{ name: {}, message_name: {}, shape: ShapeId({}), required: {r} }}",
                        q(m),
                        q(&lower_first(m)),
                        self.index(t)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let id = |n: &Option<String>| {
                n.as_ref().map_or("None".to_owned(), |n| format!("Some(ShapeId({}))", self.index(n)))
            };
            let opt = |v: Option<i64>| v.map_or("None".to_owned(), |v| format!("Some({v})"));
            let pattern = match &s.pattern {
                None => "None".to_owned(),
                Some(p) => match compile_pattern(p) {
                    Some((ranges, min, max)) => format!(
                        "Some(Pattern {{ source: {}, ranges: Some(&[{}]), min: {min}, max: {} }})",
                        q(p),
                        ranges.iter().map(|(a, b)| format!("({a:?}, {b:?})")).collect::<Vec<_>>().join(", "),
                        max.map_or("None".to_owned(), |m| format!("Some({m})"))
                    ),
                    None => format!("Some(Pattern {{ source: {}, ranges: None, min: 0, max: None }})", q(p)),
                },
            };
            let _ = writeln!(
                o,
                "    Shape {{ name: {}, kind: Kind::{kind}, members: &[{members}], member: {}, key: {}, min: {}, max: {}, pattern: {pattern}, enum_values: &[{}], sensitive: {} }},",
                q(&s.name),
                id(&s.member),
                id(&s.key),
                opt(s.min),
                opt(s.max),
                list(&s.enum_values),
                s.sensitive
            );
        }
        o.push_str("];\n\n");
        o.push_str("/// Every operation: the model's, by name, then Trent's batches.\npub(super) static OPERATIONS: &[Operation] = &[\n");
        for op in &self.operations {
            let id = |n: &Option<String>| {
                n.as_ref().map_or("None".to_owned(), |n| format!("Some(ShapeId({}))", self.index(n)))
            };
            let pag = op
                .paginator
                .as_ref()
                .map_or("None".to_owned(), |p| format!("Some(Paginator {{ {} }})", fields(p, str::to_owned)));
            let _ = writeln!(
                o,
                "    Operation {{ name: {}, input: {}, output: {}, errors: &[{}], implemented: {}, aws: {}, paginator: {pag} }},",
                q(&op.name),
                id(&op.input),
                id(&op.output),
                list(&op.errors),
                op.implemented,
                op.aws
            );
        }
        o.push_str("];\n\n");
        let implemented: Vec<String> =
            self.operations.iter().filter(|o| o.implemented).map(|o| o.name.clone()).collect();
        let _ = writeln!(
            o,
            "/// Every operation [`Kms::call_json`](crate::Kms::call_json) accepts: the AWS KMS operations this\n/// version implements, by name, then Trent's batch operations.\npub static JSON_OPERATIONS: &[&str] = &[{}];\n",
            list(&implemented)
        );
        o.push_str(ERROR_NAMES_MACRO);
        o.push_str("/// Every exception name: the model's, then the common AWS errors Trent raises; with its\n/// result code in trent.h (`=> code`), if it has one.\npub(super) static ERRORS: &[ErrorName] = error_names![\n");
        for e in &self.errors {
            let code = self.codes.get(e).map_or(String::new(), |c| format!(" => {c}"));
            let _ = writeln!(o, "    {}{code},", q(e));
        }
        o.push_str("];\n");
        o
    }

    /// The Python module.
    pub fn python(&self) -> String {
        let mut o = String::new();
        o.push_str(HEADER_PY);
        let py_list = |items: &[String]| items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
        let tuple = |items: &[String]| match items.len() {
            0 => "()".to_owned(),
            1 => format!("({},)", q(&items[0])),
            _ => format!("({})", py_list(items)),
        };
        let implemented: Vec<String> =
            self.operations.iter().filter(|o| o.implemented).map(|o| o.name.clone()).collect();
        let missing: Vec<String> = self.operations.iter().filter(|o| !o.implemented).map(|o| o.name.clone()).collect();
        let _ = writeln!(o, "#: Operations the engine implements: the AWS ones by name, then Trent's batches.");
        let _ = writeln!(o, "IMPLEMENTED = [{}]\n", py_list(&implemented));
        let _ = writeln!(o, "#: AWS KMS operations of the model this version does not implement.");
        let _ = writeln!(o, "NOT_IMPLEMENTED = [{}]\n", py_list(&missing));
        let _ = writeln!(o, "#: Trent's own operations (not in the AWS model).");
        let trent: Vec<String> = self.operations.iter().filter(|o| !o.aws).map(|o| o.name.clone()).collect();
        let _ = writeln!(o, "TRENT_OPERATIONS = [{}]\n", py_list(&trent));
        for (title, var, input) in [
            ("#: Each operation's request members, in model order.", "INPUT_MEMBERS", true),
            ("#: Each operation's response members, in model order.", "OUTPUT_MEMBERS", false),
        ] {
            let _ = writeln!(o, "{title}\n{var} = {{");
            for op in &self.operations {
                let members = self.members(if input { op.input.as_ref() } else { op.output.as_ref() });
                let _ = writeln!(o, "    {}: {},", q(&op.name), tuple(&members));
            }
            o.push_str("}\n\n");
        }
        let _ = writeln!(o, "#: Each operation's required request members.\nREQUIRED_MEMBERS = {{");
        for op in &self.operations {
            let req: Vec<String> = op
                .input
                .as_ref()
                .and_then(|s| self.shapes.get(s))
                .map(|s| s.members.iter().filter(|m| m.2).map(|m| m.0.clone()).collect())
                .unwrap_or_default();
            let _ = writeln!(o, "    {}: {},", q(&op.name), tuple(&req));
        }
        o.push_str("}\n\n");
        for set in &MEMBER_SETS {
            let names = py_list(&self.member_names(set.kind, set.input));
            let _ = writeln!(o, "#: Names of {}.\n{} = frozenset([{names}])\n", set.about, set.python);
        }
        let _ = writeln!(o, "#: botocore's paginators: operation → its tokens and result key.\nPAGINATORS = {{");
        for op in &self.operations {
            if let Some(p) = &op.paginator {
                let _ = writeln!(o, "    {}: {{{}}},", q(&op.name), fields(p, q));
            }
        }
        o.push_str("}\n\n");
        let _ = writeln!(o, "#: Every exception name: the model's, then the common AWS errors Trent raises.");
        let _ = writeln!(o, "ERROR_NAMES = [{}]\n", py_list(&self.errors));
        let _ = writeln!(o, "#: The exceptions with a result code in trent.h: name → code.\nERROR_CODES = {{");
        for (name, code) in &self.codes {
            let _ = writeln!(o, "    {}: {code},", q(name));
        }
        o.push_str("}\n");
        o
    }

    /// The Go tables.
    pub fn go_shapes(&self) -> String {
        let mut o = String::new();
        o.push_str(HEADER_GO);
        o.push_str("package awskms\n\n");
        o.push_str("// shapeOperation is one operation of the shape table.\ntype shapeOperation struct {\n\tName        string\n\tImplemented bool\n\tAWS         bool\n\tInput       []string\n\tOutput      []string\n}\n\n");
        o.push_str("// shapeOperations are the model's operations by name, then Trent's batches.\nvar shapeOperations = []shapeOperation{\n");
        let go_list = |items: &[String]| format!("[]string{{{}}}", list(items));
        for op in &self.operations {
            let _ = writeln!(
                o,
                "\t{{Name: {}, Implemented: {}, AWS: {}, Input: {}, Output: {}}},",
                q(&op.name),
                op.implemented,
                op.aws,
                go_list(&self.members(op.input.as_ref())),
                go_list(&self.members(op.output.as_ref()))
            );
        }
        o.push_str("}\n\n");
        for set in &MEMBER_SETS {
            if let Some(var) = set.go {
                let names = go_list(&self.member_names(set.kind, set.input));
                let _ = writeln!(o, "// {var} are the names of {}.\nvar {var} = {names}\n", set.about);
            }
        }
        o.push_str("// shapePaginator is one of botocore's paginators.\ntype shapePaginator struct {\n\tOperation   string\n\tInputToken  string\n\tOutputToken string\n\tLimitKey    string\n\tMoreResults string\n\tResultKey   string\n}\n\n");
        o.push_str("// shapePaginators are botocore's paginators for KMS.\nvar shapePaginators = []shapePaginator{\n");
        for op in &self.operations {
            if let Some(p) = &op.paginator {
                let _ = writeln!(o, "\t{{Operation: {}, {}}},", q(&op.name), fields(p, upper_camel));
            }
        }
        o.push_str("}\n\n");
        o.push_str("// shapeErrorCode is an exception and its result code in trent.h.\ntype shapeErrorCode struct {\n\tName string\n\tCode uint32\n}\n\n");
        o.push_str("// shapeErrorCodes are the exceptions with a result code in trent.h.\nvar shapeErrorCodes = []shapeErrorCode{\n");
        for (name, code) in &self.codes {
            let _ = writeln!(o, "\t{{Name: {}, Code: {code}}},", q(name));
        }
        o.push_str("}\n\n");
        let _ = writeln!(
            o,
            "// shapeErrorNames are every exception name: the model's, then the common AWS errors Trent raises.\nvar shapeErrorNames = {}",
            go_list(&self.errors)
        );
        o
    }

    /// The Go adapter's API interface and the methods without a hand-written fast path.
    pub fn go_api(&self) -> String {
        let mut o = String::new();
        o.push_str(HEADER_GO);
        o.push_str(
            "package awskms\n\nimport (\n\t\"context\"\n\n\t\"github.com/aws/aws-sdk-go-v2/service/kms\"\n)\n\n",
        );
        o.push_str("// API is the set of *kms.Client methods this package implements (the AWS operations this\n// version of Trent implements): declare your dependency as API (or a subset) and pass either\n// *kms.Client or *awskms.Client.\ntype API interface {\n");
        let ops: Vec<&Operation> = self.operations.iter().filter(|o| o.aws && o.implemented).collect();
        for op in &ops {
            let n = &op.name;
            let _ = writeln!(o, "\t{n}(context.Context, *kms.{n}Input, ...func(*kms.Options)) (*kms.{n}Output, error)");
        }
        o.push_str("}\n\n// Both satisfy API: the method sets match.\nvar (\n\t_ API = (*kms.Client)(nil)\n\t_ API = (*Client)(nil)\n)\n");
        for op in ops.iter().filter(|o| !o.go_hand_written) {
            let n = &op.name;
            let _ = write!(
                o,
                "\n// {n} runs the KMS operation {n} on the engine, through its JSON dispatcher.\nfunc (c *Client) {n}(ctx context.Context, params *kms.{n}Input, optFns ...func(*kms.Options)) (*kms.{n}Output, error) {{\n\treturn call[kms.{n}Output](c, ctx, {}, orEmpty(params))\n}}\n",
                q(n)
            );
        }
        o
    }

    /// Every output: (path relative to the root, contents).
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("engine/src/wire/shapes_gen.rs", self.rust()),
            ("bindings/python/trent/_shapes.py", self.python()),
            ("bindings/go/awskms/shapes_gen.go", self.go_shapes()),
            ("bindings/go/awskms/api_gen.go", self.go_api()),
        ]
    }
}

/// A set of member names a binding's codec converts: every member of one kind anywhere in the
/// requests or in the responses.
struct MemberSet {
    /// The members' shape kind.
    kind: &'static str,
    /// In requests (else in responses).
    input: bool,
    /// What the set holds, for the generated comments.
    about: &'static str,
    /// Its name in the Python module.
    python: &'static str,
    /// Its name in the Go tables, if the Go adapter needs it.
    go: Option<&'static str>,
}

/// The member sets, in the order the modules list them.
const MEMBER_SETS: [MemberSet; 6] = [
    MemberSet {
        kind: "blob",
        input: true,
        about: "blob members anywhere in a request (base64 on the wire)",
        python: "INPUT_BLOBS",
        go: Some("inputBlobMembers"),
    },
    MemberSet {
        kind: "blob",
        input: false,
        about: "blob members anywhere in a response (base64 on the wire)",
        python: "OUTPUT_BLOBS",
        go: Some("outputBlobMembers"),
    },
    MemberSet {
        kind: "timestamp",
        input: true,
        about: "timestamp members anywhere in a request (epoch seconds on the wire)",
        python: "INPUT_TIMESTAMPS",
        go: None,
    },
    MemberSet {
        kind: "timestamp",
        input: false,
        about: "timestamp members anywhere in a response (epoch seconds on the wire)",
        python: "OUTPUT_TIMESTAMPS",
        go: Some("outputTimestampMembers"),
    },
    MemberSet {
        kind: "map",
        input: true,
        about: "map members anywhere in a request (user maps: encryption contexts)",
        python: "INPUT_MAPS",
        go: None,
    },
    MemberSet {
        kind: "map",
        input: false,
        about: "map members anywhere in a response",
        python: "OUTPUT_MAPS",
        go: None,
    },
];

const HEADER_RUST: &str = "// @generated by tools/shapes-gen from the KMS service model (tools/shapes-gen/model) and
// ffi/include/trent.h. Do not edit: change the inputs and run `cargo run -p trent-shapes-gen`.

";

/// The generated Rust table's macro for its exception list: one row per exception, `"Name"` or
/// `"Name" => code`.
const ERROR_NAMES_MACRO: &str =
    "/// `error_names![\"A\" => 1001, \"B\"]`: the exceptions, each with its result code if one is given.
macro_rules! error_names {
    (@code) => { None };
    (@code $code:literal) => { Some($code) };
    ($($name:literal $(=> $code:literal)?),* $(,)?) => {
        &[$(ErrorName { name: $name, code: error_names!(@code $($code)?) }),*]
    };
}

";

const HEADER_PY: &str = "\"\"\"The table of AWS shapes: operations, members, paginators and error codes.

@generated by tools/shapes-gen from the KMS service model (tools/shapes-gen/model) and
ffi/include/trent.h. Do not edit: change the inputs and run `cargo run -p trent-shapes-gen`.
\"\"\"

# fmt: off

";

const HEADER_GO: &str = "// Code generated by tools/shapes-gen from the KMS service model (tools/shapes-gen/model) and
// ffi/include/trent.h; DO NOT EDIT. Change the inputs and run `cargo run -p trent-shapes-gen`.

";
