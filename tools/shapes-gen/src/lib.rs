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
use std::path::{Path, PathBuf};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value that keeps the order of object members (the model's member order is the
/// order AWS lists members in, and serde_json's map sorts them).
#[derive(Clone, Debug, PartialEq)]
pub enum J {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<J>),
    /// An object, members in document order.
    Obj(Vec<(String, J)>),
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<J, E> {
                Ok(J::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<J, E> {
                Ok(J::Num(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<J, E> {
                Ok(J::Num(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<J, E> {
                Ok(J::Num(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<J, E> {
                Ok(J::Str(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = a.next_element()? {
                    out.push(v);
                }
                Ok(J::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry()? {
                    out.push((k, v));
                }
                Ok(J::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

static NULL: J = J::Null;

impl J {
    /// Member `key` of an object (`Null` if absent).
    pub fn get(&self, key: &str) -> &J {
        match self {
            J::Obj(m) => m.iter().find(|(k, _)| k == key).map_or(&NULL, |(_, v)| v),
            _ => &NULL,
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    fn num(&self) -> Option<i64> {
        match self {
            J::Num(n) => Some(*n as i64),
            _ => None,
        }
    }

    fn entries(&self) -> &[(String, J)] {
        match self {
            J::Obj(m) => m,
            _ => &[],
        }
    }

    fn items(&self) -> &[J] {
        match self {
            J::Arr(a) => a,
            _ => &[],
        }
    }

    fn strs(&self) -> Vec<String> {
        self.items().iter().filter_map(J::str).map(str::to_owned).collect()
    }
}

/// Reads a JSON file, member order kept.
pub fn read_json(path: &Path) -> Result<J, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
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
#[derive(Clone, Debug)]
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

fn shape_of(name: &str, s: &J) -> Shape {
    let required: Vec<String> = s.get("required").strs();
    Shape {
        name: name.to_owned(),
        kind: s.get("type").str().unwrap_or("string").to_owned(),
        members: s
            .get("members")
            .entries()
            .iter()
            .map(|(m, v)| (m.clone(), v.get("shape").str().unwrap_or_default().to_owned(), required.contains(m)))
            .collect(),
        member: s.get("member").get("shape").str().or_else(|| s.get("value").get("shape").str()).map(str::to_owned),
        key: s.get("key").get("shape").str().map(str::to_owned),
        min: s.get("min").num(),
        max: s.get("max").num(),
        pattern: s.get("pattern").str().map(str::to_owned),
        enum_values: s.get("enum").strs(),
        sensitive: s.get("sensitive") == &J::Bool(true),
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

/// `KMSInvalidStateException` → `KMS_INVALID_STATE_EXCEPTION` (cbindgen's spelling of the
/// result codes).
pub fn screaming(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The repository's root (this crate is `tools/shapes-gen`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the table from the inputs under `root`.
pub fn table(root: &Path) -> Result<Table, String> {
    let dir = root.join("tools/shapes-gen/model");
    let model = read_json(&dir.join("kms-service-2.json"))?;
    let pages = read_json(&dir.join("kms-paginators-1.json"))?;
    let trent = read_json(&dir.join("trent.json"))?;
    let header_path = root.join("ffi/include/trent.h");
    let header = std::fs::read_to_string(&header_path).map_err(|e| format!("{}: {e}", header_path.display()))?;

    let implemented = trent.get("implemented").strs();
    let hand = trent.get("go_hand_written").strs();
    let mut all: BTreeMap<String, J> = BTreeMap::new();
    for (name, s) in model.get("shapes").entries() {
        all.insert(name.clone(), s.clone());
    }
    for (name, s) in trent.get("shapes").entries() {
        if all.insert(name.clone(), s.clone()).is_some() {
            return Err(format!("trent.json redefines the model's shape {name}"));
        }
    }

    let mut operations = Vec::new();
    let mut model_ops: Vec<&(String, J)> = model.get("operations").entries().iter().collect();
    model_ops.sort_by(|a, b| a.0.cmp(&b.0));
    for name in &implemented {
        if !model_ops.iter().any(|(n, _)| n == name) {
            return Err(format!("trent.json implements {name}, which the model does not have"));
        }
    }
    for name in &hand {
        if !implemented.contains(name) {
            return Err(format!("trent.json: the Go adapter's {name} is not an implemented operation"));
        }
    }
    let op = |name: &str, o: &J, aws: bool| {
        let p = pages.get("pagination").get(name);
        Operation {
            name: name.to_owned(),
            input: o.get("input").get("shape").str().map(str::to_owned),
            output: o.get("output").get("shape").str().map(str::to_owned),
            errors: o.get("errors").items().iter().filter_map(|e| e.get("shape").str().map(str::to_owned)).collect(),
            implemented: !aws || implemented.iter().any(|n| n == name),
            aws,
            paginator: (p != &J::Null).then(|| Paginator {
                input_token: p.get("input_token").str().unwrap_or_default().to_owned(),
                output_token: p.get("output_token").str().unwrap_or_default().to_owned(),
                limit_key: p.get("limit_key").str().unwrap_or_default().to_owned(),
                more_results: p.get("more_results").str().unwrap_or_default().to_owned(),
                result_key: p.get("result_key").str().unwrap_or_default().to_owned(),
            }),
            go_hand_written: hand.iter().any(|n| n == name),
        }
    };
    for (name, o) in model_ops {
        operations.push(op(name, o, true));
    }
    for (name, o) in trent.get("operations").entries() {
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

    let mut errors: Vec<String> = all
        .iter()
        .filter(|(n, s)| s.get("exception") == &J::Bool(true) && !n.is_empty())
        .map(|(n, _)| n.clone())
        .collect();
    errors.sort();
    for e in trent.get("common_errors").strs() {
        if !errors.contains(&e) {
            errors.push(e);
        }
    }
    let mut codes = BTreeMap::new();
    for (scream, code) in header_codes(&header) {
        let name = errors
            .iter()
            .find(|e| screaming(e) == scream)
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
            let pag = match &op.paginator {
                None => "None".to_owned(),
                Some(p) => format!(
                    "Some(Paginator {{ input_token: {}, output_token: {}, limit_key: {}, more_results: {}, result_key: {} }})",
                    q(&p.input_token),
                    q(&p.output_token),
                    q(&p.limit_key),
                    q(&p.more_results),
                    q(&p.result_key)
                ),
            };
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
        o.push_str("/// Every exception name: the model's, then the common AWS errors Trent raises; with its\n/// result code in trent.h, if it has one.\npub(super) static ERRORS: &[ErrorName] = &[\n");
        for e in &self.errors {
            let code = self.codes.get(e).map_or("None".to_owned(), |c| format!("Some({c})"));
            let _ = writeln!(o, "    ErrorName {{ name: {}, code: {code} }},", q(e));
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
        for (title, var, kind, input) in [
            ("#: Names of blob members anywhere in a request (base64 on the wire).", "INPUT_BLOBS", "blob", true),
            ("#: Names of blob members anywhere in a response.", "OUTPUT_BLOBS", "blob", false),
            (
                "#: Names of timestamp members anywhere in a request (epoch seconds on the wire).",
                "INPUT_TIMESTAMPS",
                "timestamp",
                true,
            ),
            ("#: Names of timestamp members anywhere in a response.", "OUTPUT_TIMESTAMPS", "timestamp", false),
            (
                "#: Names of map members anywhere in a request (user maps: encryption contexts).",
                "INPUT_MAPS",
                "map",
                true,
            ),
            ("#: Names of map members anywhere in a response.", "OUTPUT_MAPS", "map", false),
        ] {
            let _ = writeln!(o, "{title}\n{var} = frozenset([{}])\n", py_list(&self.member_names(kind, input)));
        }
        let _ = writeln!(o, "#: botocore's paginators: operation → its tokens and result key.\nPAGINATORS = {{");
        for op in &self.operations {
            if let Some(p) = &op.paginator {
                let _ = writeln!(
                    o,
                    "    {}: {{\"input_token\": {}, \"output_token\": {}, \"limit_key\": {}, \"more_results\": {}, \"result_key\": {}}},",
                    q(&op.name),
                    q(&p.input_token),
                    q(&p.output_token),
                    q(&p.limit_key),
                    q(&p.more_results),
                    q(&p.result_key)
                );
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
        for (title, var, kind, input) in [
            ("names of blob members anywhere in a request", "inputBlobMembers", "blob", true),
            ("names of blob members anywhere in a response", "outputBlobMembers", "blob", false),
            (
                "names of timestamp members anywhere in a response (epoch seconds on the wire)",
                "outputTimestampMembers",
                "timestamp",
                false,
            ),
        ] {
            let _ =
                writeln!(o, "// {var} are the {title}.\nvar {var} = {}\n", go_list(&self.member_names(kind, input)));
        }
        o.push_str("// shapePaginator is one of botocore's paginators.\ntype shapePaginator struct {\n\tOperation   string\n\tInputToken  string\n\tOutputToken string\n\tLimitKey    string\n\tMoreResults string\n\tResultKey   string\n}\n\n");
        o.push_str("// shapePaginators are botocore's paginators for KMS.\nvar shapePaginators = []shapePaginator{\n");
        for op in &self.operations {
            if let Some(p) = &op.paginator {
                let _ = writeln!(
                    o,
                    "\t{{Operation: {}, InputToken: {}, OutputToken: {}, LimitKey: {}, MoreResults: {}, ResultKey: {}}},",
                    q(&op.name),
                    q(&p.input_token),
                    q(&p.output_token),
                    q(&p.limit_key),
                    q(&p.more_results),
                    q(&p.result_key)
                );
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

const HEADER_RUST: &str = "// @generated by tools/shapes-gen from the KMS service model (tools/shapes-gen/model) and
// ffi/include/trent.h. Do not edit: change the inputs and run `cargo run -p trent-shapes-gen`.

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
