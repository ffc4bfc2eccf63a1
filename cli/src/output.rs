//! Output as the AWS CLI prints it: `--output json` (Python's `json.dumps(indent=4,
//! ensure_ascii=False)`, members in the service model's order), `text` (the AWS CLI's
//! tab-separated format: scalars of an object on one line in key order, nested objects and
//! lists on lines of their own headed by their upper-cased key) and `table` (boxed sections).
//! Blobs are base64, timestamps ISO 8601 in UTC (`2026-11-28T22:58:00.123000+00:00`, the AWS
//! CLI v2 default `cli_timestamp_format = iso8601`).

use serde_json::{Number, Value};

use crate::model::{Kind, Model};

/// A JSON value whose objects keep an order (serde_json's map sorts its keys).
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    /// `null` (`None` in text output).
    Null,
    /// `true` / `false` (`True` / `False` in text output).
    Bool(bool),
    /// A number.
    Num(Number),
    /// A string.
    Str(String),
    /// A list.
    Arr(Vec<Out>),
    /// An object, in output order.
    Obj(Vec<(String, Out)>),
}

/// The output formats of `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `json` (the default).
    Json,
    /// `text`.
    Text,
    /// `table`.
    Table,
}

impl Format {
    /// Parses an `--output` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "json" => Some(Self::Json),
            "text" => Some(Self::Text),
            "table" => Some(Self::Table),
            _ => None,
        }
    }
}

/// Replaces the epoch-seconds numbers of timestamp members of `shape` in `v` by ISO 8601
/// strings, as the AWS CLI prints them.
pub fn convert_timestamps(m: &Model, v: &mut Value, shape: &str) {
    match m.kind(shape) {
        Kind::Timestamp => {
            if let Some(secs) = v.as_f64() {
                *v = Value::String(iso8601(secs));
            }
        }
        Kind::Structure => {
            if let Value::Object(obj) = v {
                for (name, member_shape) in m.members(shape) {
                    if let Some(child) = obj.get_mut(name) {
                        convert_timestamps(m, child, member_shape);
                    }
                }
            }
        }
        Kind::List => {
            if let (Value::Array(items), Some(member)) = (v, m.list_member(shape)) {
                for item in items {
                    convert_timestamps(m, item, member);
                }
            }
        }
        Kind::Map => {
            if let (Value::Object(obj), Some(value_shape)) = (v, m.map_value(shape)) {
                for child in obj.values_mut() {
                    convert_timestamps(m, child, value_shape);
                }
            }
        }
        _ => {}
    }
}

/// Epoch seconds as Python's `datetime.isoformat()` of an aware UTC datetime.
pub fn iso8601(secs: f64) -> String {
    let micros = (secs * 1e6).round() as i128;
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(micros * 1000) else {
        return secs.to_string();
    };
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.microsecond() {
        0 => format!("{base}+00:00"),
        us => format!("{base}.{us:06}+00:00"),
    }
}

/// `v` ordered as the model orders the members of `shape` (unknown keys last, by name).
pub fn shaped(m: &Model, v: Value, shape: Option<&str>) -> Out {
    let kind = shape.map(|s| m.kind(s));
    match v {
        Value::Null => Out::Null,
        Value::Bool(b) => Out::Bool(b),
        Value::Number(n) => Out::Num(n),
        Value::String(s) => Out::Str(s),
        Value::Array(items) => {
            let member = match kind {
                Some(Kind::List) => shape.and_then(|s| m.list_member(s)),
                _ => None,
            };
            Out::Arr(items.into_iter().map(|i| shaped(m, i, member)).collect())
        }
        Value::Object(obj) => {
            let (order, value_shape): (Vec<(&str, &str)>, Option<&str>) = match (kind, shape) {
                (Some(Kind::Structure), Some(s)) => (m.members(s), None),
                (Some(Kind::Map), Some(s)) => (Vec::new(), m.map_value(s)),
                _ => (Vec::new(), None),
            };
            let mut entries: Vec<(usize, String, Value)> = obj
                .into_iter()
                .map(|(k, v)| {
                    let pos = match (kind, order.iter().position(|(name, _)| *name == k)) {
                        (_, Some(p)) => p,
                        (Some(Kind::Map), None) => usize::MAX,
                        _ if shape.is_none() => m.rank(&k),
                        _ => usize::MAX,
                    };
                    (pos, k, v)
                })
                .collect();
            entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            Out::Obj(
                entries
                    .into_iter()
                    .map(|(_, k, v)| {
                        let child = order.iter().find(|(name, _)| *name == k).map(|(_, s)| *s).or(value_shape);
                        let child = shaped(m, v, child);
                        (k, child)
                    })
                    .collect(),
            )
        }
    }
}

/// Renders `out` in `format`; `title` is the operation name (the table's title).
pub fn render(format: Format, out: &Out, title: &str) -> String {
    match format {
        Format::Json => {
            if matches!(out, Out::Obj(o) if o.is_empty()) {
                return String::new();
            }
            let mut s = String::new();
            json(out, 0, &mut s);
            s.push('\n');
            s
        }
        Format::Text => {
            let mut s = String::new();
            text(out, None, None, &mut s);
            s
        }
        Format::Table => table(out, title),
    }
}

// ---------------------------------------------------------------------------------------------
// json

fn json(v: &Out, level: usize, s: &mut String) {
    match v {
        Out::Null => s.push_str("null"),
        Out::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Out::Num(n) => s.push_str(&n.to_string()),
        Out::Str(t) => s.push_str(&Value::String(t.clone()).to_string()),
        Out::Arr(items) if items.is_empty() => s.push_str("[]"),
        Out::Obj(entries) if entries.is_empty() => s.push_str("{}"),
        Out::Arr(items) => {
            s.push('[');
            for (i, item) in items.iter().enumerate() {
                s.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(level + 1, s);
                json(item, level + 1, s);
            }
            s.push('\n');
            indent(level, s);
            s.push(']');
        }
        Out::Obj(entries) => {
            s.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                s.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(level + 1, s);
                s.push_str(&Value::String(k.clone()).to_string());
                s.push_str(": ");
                json(item, level + 1, s);
            }
            s.push('\n');
            indent(level, s);
            s.push('}');
        }
    }
}

fn indent(level: usize, s: &mut String) {
    for _ in 0..level {
        s.push_str("    ");
    }
}

// ---------------------------------------------------------------------------------------------
// text: awscli/text.py

/// Python's `str()` of a scalar.
fn scalar(v: &Out) -> String {
    match v {
        Out::Null => "None".into(),
        Out::Bool(true) => "True".into(),
        Out::Bool(false) => "False".into(),
        Out::Num(n) => n.to_string(),
        Out::Str(t) => t.clone(),
        Out::Arr(_) | Out::Obj(_) => String::new(),
    }
}

fn is_scalar(v: &Out) -> bool {
    !matches!(v, Out::Arr(_) | Out::Obj(_))
}

fn text(v: &Out, identifier: Option<&str>, scalar_keys: Option<&[String]>, s: &mut String) {
    match v {
        Out::Obj(entries) => text_dict(entries, identifier, scalar_keys, s),
        Out::Arr(items) => text_list(items, identifier, s),
        _ => {
            s.push_str(&scalar(v));
            s.push('\n');
        }
    }
}

fn text_list(items: &[Out], identifier: Option<&str>, s: &mut String) {
    if items.is_empty() {
        return;
    }
    if items.iter().any(|i| matches!(i, Out::Obj(_))) {
        let keys = scalar_columns(items);
        for item in items {
            text(item, identifier, Some(&keys), s);
        }
    } else if items.iter().any(|i| matches!(i, Out::Arr(_))) {
        let scalars: Vec<&Out> = items.iter().filter(|i| is_scalar(i)).collect();
        if !scalars.is_empty() {
            text_scalar_list(&scalars, identifier, s);
        }
        for item in items.iter().filter(|i| !is_scalar(i)) {
            text(item, identifier, None, s);
        }
    } else {
        let all: Vec<&Out> = items.iter().collect();
        text_scalar_list(&all, identifier, s);
    }
}

/// The keys of the scalar members of the objects in `items`, sorted, each once: the columns of
/// a list of objects in text and table output.
fn scalar_columns(items: &[Out]) -> Vec<String> {
    let mut keys: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Out::Obj(e) => Some(e.iter().filter(|(_, v)| is_scalar(v)).map(|(k, _)| k.clone())),
            _ => None,
        })
        .flatten()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn text_scalar_list(items: &[&Out], identifier: Option<&str>, s: &mut String) {
    match identifier {
        Some(id) => {
            for item in items {
                s.push_str(&format!("{}\t{}\n", id.to_uppercase(), scalar(item)));
            }
        }
        None => {
            s.push_str(&items.iter().map(|i| scalar(i)).collect::<Vec<_>>().join("\t"));
            s.push('\n');
        }
    }
}

fn text_dict(entries: &[(String, Out)], identifier: Option<&str>, scalar_keys: Option<&[String]>, s: &mut String) {
    let mut scalars = Vec::new();
    let mut non_scalars: Vec<(&str, &Out)> = Vec::new();
    match scalar_keys {
        None => {
            let mut sorted: Vec<&(String, Out)> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, v) in sorted {
                if is_scalar(v) {
                    scalars.push(scalar(v));
                } else {
                    non_scalars.push((k, v));
                }
            }
        }
        Some(keys) => {
            for k in keys {
                scalars.push(entries.iter().find(|(name, _)| name == k).map_or("None".into(), |(_, v)| scalar(v)));
            }
            let mut rest: Vec<&(String, Out)> = entries.iter().filter(|(k, _)| !keys.contains(k)).collect();
            rest.sort_by(|a, b| a.0.cmp(&b.0));
            non_scalars.extend(rest.into_iter().map(|(k, v)| (k.as_str(), v)));
        }
    }
    if !scalars.is_empty() {
        if let Some(id) = identifier {
            scalars.insert(0, id.to_uppercase());
        }
        s.push_str(&scalars.join("\t"));
        s.push('\n');
    }
    for (k, v) in non_scalars {
        text(v, Some(k), None, s);
    }
}

// ---------------------------------------------------------------------------------------------
// table: awscli/formatter.py's TableFormatter, simplified (one width for the whole table)

/// A section of a table: a title, then either column headers with rows, or key/value rows.
struct Section {
    level: usize,
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The scalars of one object (wide ones turn into key/value rows), not a list's rows.
    object: bool,
}

fn table(v: &Out, title: &str) -> String {
    let mut sections = Vec::new();
    build_sections(v, title, 0, &mut sections);
    if sections.is_empty() || matches!(v, Out::Obj(o) if o.is_empty()) {
        return String::new();
    }
    // Rows wider than the terminal's 80 columns become key/value pairs, as the AWS CLI does.
    for sec in &mut sections {
        if sec.headers.len() > 1 {
            let width: usize = sec.headers.iter().enumerate().map(|(i, h)| col_width(sec, i).max(h.len()) + 5).sum();
            if width + 2 * sec.level > 80 && sec.object && sec.rows.len() == 1 {
                let row = sec.rows.remove(0);
                sec.rows = sec.headers.drain(..).zip(row).map(|(k, v)| vec![k, v]).collect();
            }
        }
    }
    let inner = sections
        .iter()
        .map(|sec| {
            let cols = if sec.headers.is_empty() {
                sec.rows.iter().map(Vec::len).max().unwrap_or(1)
            } else {
                sec.headers.len()
            };
            let cells: usize =
                (0..cols).map(|i| col_width(sec, i).max(sec.headers.get(i).map_or(0, String::len)) + 4).sum();
            (cells + cols.saturating_sub(1)).max(sec.title.len() + 4) + 2 * sec.level
        })
        .max()
        .unwrap_or(0);
    let mut s = String::new();
    for (n, sec) in sections.iter().enumerate() {
        let w = inner - 2 * sec.level;
        let (l, r) = ("|".repeat(sec.level), "|".repeat(sec.level));
        if n == 0 {
            s.push_str(&format!("{}\n", "-".repeat(w + 2)));
        }
        s.push_str(&format!("{l}|{}|{r}\n", center(&sec.title, w)));
        let cols =
            if sec.headers.is_empty() { sec.rows.iter().map(Vec::len).max().unwrap_or(0) } else { sec.headers.len() };
        if cols == 0 {
            continue;
        }
        let widths = widths(sec, cols, w);
        let line = |s: &mut String| {
            let parts: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            s.push_str(&format!("{l}+{}+{r}\n", parts.join("+")));
        };
        line(&mut s);
        if !sec.headers.is_empty() {
            let cells: Vec<String> = sec.headers.iter().zip(&widths).map(|(h, w)| center(h, *w)).collect();
            s.push_str(&format!("{l}|{}|{r}\n", cells.join("|")));
            line(&mut s);
        }
        for row in &sec.rows {
            let cells: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let c = row.get(i).map_or("", String::as_str);
                    format!("  {c:<width$}", width = w.saturating_sub(2))
                })
                .collect();
            s.push_str(&format!("{l}|{}|{r}\n", cells.join("|")));
        }
        line(&mut s);
    }
    s
}

fn col_width(sec: &Section, i: usize) -> usize {
    sec.rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0)
}

fn widths(sec: &Section, cols: usize, total: usize) -> Vec<usize> {
    let mut w: Vec<usize> =
        (0..cols).map(|i| col_width(sec, i).max(sec.headers.get(i).map_or(0, |h| h.len())) + 4).collect();
    let used: usize = w.iter().sum::<usize>() + cols - 1;
    if let Some(last) = w.last_mut() {
        *last += total.saturating_sub(used);
    }
    w
}

fn center(t: &str, w: usize) -> String {
    let len = t.chars().count();
    if len >= w {
        return t.to_owned();
    }
    let left = (w - len) / 2;
    format!("{}{t}{}", " ".repeat(left), " ".repeat(w - len - left))
}

fn build_sections(v: &Out, title: &str, level: usize, out: &mut Vec<Section>) {
    match v {
        Out::Obj(entries) => {
            let mut sorted: Vec<&(String, Out)> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let scalars: Vec<&(String, Out)> = sorted.iter().copied().filter(|(_, v)| is_scalar(v)).collect();
            let mut sec =
                Section { level, title: title.to_owned(), headers: Vec::new(), rows: Vec::new(), object: true };
            if scalars.len() == 1 {
                sec.rows.push(vec![scalars[0].0.clone(), scalar(&scalars[0].1)]);
            } else if !scalars.is_empty() {
                sec.headers = scalars.iter().map(|(k, _)| k.clone()).collect();
                sec.rows.push(scalars.iter().map(|(_, v)| scalar(v)).collect());
            }
            out.push(sec);
            for (k, v) in sorted.into_iter().filter(|(_, v)| !is_scalar(v)) {
                build_sections(v, k, level + 1, out);
            }
        }
        Out::Arr(items) => {
            let mut sec =
                Section { level, title: title.to_owned(), headers: Vec::new(), rows: Vec::new(), object: false };
            if items.iter().any(|i| matches!(i, Out::Obj(_))) {
                let keys = scalar_columns(items);
                for item in items {
                    if let Out::Obj(e) = item {
                        sec.rows.push(
                            keys.iter()
                                .map(|k| e.iter().find(|(n, _)| n == k).map_or(String::new(), |(_, v)| scalar(v)))
                                .collect(),
                        );
                    }
                }
                sec.headers = keys;
                out.push(sec);
                for item in items {
                    if let Out::Obj(e) = item {
                        for (k, v) in e.iter().filter(|(_, v)| !is_scalar(v)) {
                            build_sections(v, k, level + 1, out);
                        }
                    }
                }
            } else {
                for item in items {
                    if is_scalar(item) {
                        sec.rows.push(vec![scalar(item)]);
                    }
                }
                out.push(sec);
                for item in items.iter().filter(|i| !is_scalar(i)) {
                    build_sections(item, title, level + 1, out);
                }
            }
        }
        _ => out.push(Section {
            level,
            title: title.to_owned(),
            headers: Vec::new(),
            rows: vec![vec![scalar(v)]],
            object: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_is_pythons_isoformat() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(1_700_000_000.5), "2023-11-14T22:13:20.500000+00:00");
    }

    #[test]
    fn text_output_follows_the_aws_cli() {
        let v = Out::Obj(vec![
            ("KeyId".into(), Out::Str("k".into())),
            ("Aliases".into(), Out::Arr(vec![Out::Obj(vec![("AliasName".into(), Out::Str("alias/a".into()))])])),
            ("Enabled".into(), Out::Bool(true)),
        ]);
        assert_eq!(render(Format::Text, &v, "X"), "True\tk\nALIASES\talias/a\n");
        assert_eq!(render(Format::Text, &Out::Str("abc".into()), "X"), "abc\n");
        assert_eq!(render(Format::Text, &Out::Null, "X"), "None\n");
    }

    #[test]
    fn json_output_is_pythons_indent_4() {
        let v = Out::Obj(vec![
            ("B".into(), Out::Arr(vec![Out::Num(1.into()), Out::Str("é".into())])),
            ("A".into(), Out::Obj(vec![])),
        ]);
        assert_eq!(
            render(Format::Json, &v, "X"),
            "{\n    \"B\": [\n        1,\n        \"é\"\n    ],\n    \"A\": {}\n}\n"
        );
        assert_eq!(render(Format::Json, &Out::Obj(vec![]), "X"), "");
    }
}
