//! The checked-in tables are what the generator writes from the model, the C header and
//! trent.json; the engine's compiled table, the header's result codes and the engine's
//! dispatcher agree with them.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use trent_shapes_gen::{header_codes, names_exception, root, table};

#[test]
fn generated_files_are_up_to_date() {
    let root = root();
    let t = table(&root).unwrap();
    for (path, text) in t.outputs() {
        let on_disk = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        assert!(
            on_disk == text,
            "{path} differs from what tools/shapes-gen writes: run `cargo run -p trent-shapes-gen`"
        );
    }
}

#[test]
fn the_header_and_the_table_have_the_same_error_codes() {
    let header = std::fs::read_to_string(root().join("ffi/include/trent.h")).unwrap();
    let from_header: BTreeMap<String, u32> = header_codes(&header);
    assert!(from_header.len() >= 20, "trent.h's exception codes: {from_header:?}");
    let from_table: BTreeMap<u32, &str> =
        trent::wire::shapes::errors().iter().filter_map(|e| e.code.map(|c| (c, e.name))).collect();
    assert_eq!(from_table.len(), from_header.len(), "{from_table:?}");
    for (scream, code) in &from_header {
        let name =
            from_table.get(code).unwrap_or_else(|| panic!("no exception has TRENT_RESULT_{scream}'s code {code}"));
        assert!(names_exception(scream, name), "TRENT_RESULT_{scream} = {code} is {name}'s code");
    }
    // Every exception with a code is one the engine names: its AWS name.
    for e in trent::wire::shapes::errors() {
        if e.code.is_some() {
            assert!(e.name.ends_with("Exception"), "{}", e.name);
        }
    }
}

#[test]
fn the_engine_dispatches_exactly_the_implemented_operations() {
    let implemented: Vec<&str> =
        trent::wire::shapes::operations().iter().filter(|o| o.implemented).map(|o| o.name).collect();
    assert_eq!(trent::JSON_OPERATIONS, implemented.as_slice());
    let kms = trent::Kms::open_in_memory().unwrap();
    let me = kms.root_caller();
    for op in trent::wire::shapes::operations() {
        // A body that fails every input shape's types (or none), never reaching the engine.
        let e = kms.call_json(&me, op.name, b"[]").unwrap_err();
        let unsupported = e.name() == "UnsupportedOperationException";
        assert_eq!(unsupported, !op.implemented, "{}: {e}", op.name);
    }
    let e = kms.call_json(&me, "NoSuchOperation", b"{}").unwrap_err();
    assert!(e.message().contains("Unknown operation"), "{e}");
}

#[test]
fn patterns_compile_as_the_model_means_them() {
    let (ranges, min, max) = trent_shapes_gen::compile_pattern("^[a-zA-Z0-9-_.]+$").unwrap();
    assert_eq!(ranges, [('-', '-'), ('.', '.'), ('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')]);
    assert_eq!((min, max), (1, None));
    assert_eq!(trent_shapes_gen::compile_pattern("[0-9]{12}").unwrap(), (vec![('0', '9')], 12, Some(12)));
    assert!(trent_shapes_gen::compile_pattern("^(com|eu)\\.x$").is_none());
}

#[test]
fn result_codes_name_exceptions_by_their_letters() {
    assert!(names_exception("KMS_INVALID_STATE_EXCEPTION", "KMSInvalidStateException"));
    assert!(names_exception("NOT_FOUND_EXCEPTION", "NotFoundException"));
    assert!(!names_exception("NOT_FOUND_EXCEPTION", "NotFound"));
    assert!(!names_exception("DISABLED_EXCEPTION", "KMSInvalidStateException"));
}
