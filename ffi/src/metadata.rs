//! What the engine tells about keys: CreateKey with every option, DescribeKey's metadata,
//! the listings (keys, aliases, tags, rotations), tagging and the rotation status.

use std::ffi::c_char;
use std::ptr::null;

use trent::key::{KeySpec, KeyUsage, Tag};
use trent::{
    CreateKeyRequest, KeyIdRequest, KeyMetadata, ListAliasesRequest, ListKeyRotationsRequest, ListKeysRequest,
    ListResourceTagsRequest, TagResourceRequest, UntagResourceRequest,
};

use trent_ffi_macros::export;

use crate::boundary::{arg_str, castable, free_box, to_boxed_mut_ptr};
use crate::error::{Failure, trent_result};
use crate::handles::{trent_caller, trent_error, trent_kms};

/// A UTF-8 string as `(pointer, length)`. As an argument, `data` needs no NUL. As a result,
/// it points into the object it came from (valid until that object is freed) and is followed
/// by a NUL not counted in `len`, so it can also be read as a C string when the text has no
/// NUL of its own (identifiers, states and dates never do; descriptions and tag values may).
/// An absent value is `{NULL, 0}`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct trent_str {
    /// The UTF-8 bytes.
    pub data: *const c_char,
    /// Their number, without the trailing NUL.
    pub len: usize,
}

impl trent_str {
    const ABSENT: Self = Self { data: null(), len: 0 };
}

/// One tag: UTF-8 key and value as `(pointer, length)`, no NUL needed.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct trent_tag {
    /// The tag key's bytes (1–128 characters, not starting with `aws:`).
    pub key: *const c_char,
    /// The tag key's length in bytes.
    pub key_len: usize,
    /// The tag value's bytes (0–256 characters).
    pub value: *const c_char,
    /// The tag value's length in bytes.
    pub value_len: usize,
}

/// Text kept NUL-terminated for C.
#[derive(Debug)]
struct Text(Box<str>);

impl Text {
    fn new(text: &str) -> Self {
        let mut s = String::with_capacity(text.len() + 1);
        s.push_str(text);
        s.push('\0');
        Self(s.into_boxed_str())
    }

    fn as_c(&self) -> trent_str {
        trent_str { data: self.0.as_ptr().cast(), len: self.0.len() - 1 }
    }
}

fn opt_c(text: Option<&Text>) -> trent_str {
    text.map_or(trent_str::ABSENT, Text::as_c)
}

/// Reads a tags argument.
fn arg_tags(tags: &[trent_tag]) -> Result<Vec<Tag>, Failure> {
    tags.iter()
        .map(|t| Ok(Tag::new(arg_str(t.key, t.key_len, "tag key")?, arg_str(t.value, t.value_len, "tag value")?)))
        .collect()
}

/// Parses an optional enumeration argument by its wire name; a value that is not one of them
/// is `ValidationException`, as AWS words it.
fn arg_enum<T: Copy>(
    value: Option<&str>,
    field: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<Option<T>, Failure> {
    let Some(value) = value else { return Ok(None) };
    let parsed = parse(value).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
        Failure::from(trent::Error::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must \
             satisfy enum value set: [{}]",
            names.join(", ")
        )))
    })?;
    Ok(Some(parsed))
}

// ---------------------------------------------------------------------------------------------
// Key metadata

/// A key's metadata, as DescribeKey and CreateKey return it: read with the
/// `trent_key_metadata_*` accessors. A snapshot: later changes to the key do not show.
/// Immutable: readable from any thread. Freed with `trent_key_metadata_free`.
#[allow(non_camel_case_types)]
pub struct trent_key_metadata {
    _private: [u8; 0],
}

/// The Rust side of `trent_key_metadata`: the fields C reads, as NUL-terminated text.
#[derive(Debug)]
pub struct KeyMetadataView {
    key_id: Text,
    arn: Text,
    aws_account_id: Text,
    description: Text,
    key_state: Text,
    key_spec: Text,
    key_usage: Text,
    origin: Text,
    key_manager: Text,
    current_key_material_id: Option<Text>,
    enabled: bool,
    multi_region: bool,
    creation_date: i64,
    deletion_date: i64,
    pending_deletion_window_in_days: u32,
}

impl From<&KeyMetadata> for KeyMetadataView {
    fn from(m: &KeyMetadata) -> Self {
        Self {
            key_id: Text::new(&m.key_id),
            arn: Text::new(&m.arn),
            aws_account_id: Text::new(&m.aws_account_id),
            description: Text::new(&m.description),
            key_state: Text::new(m.key_state.as_str()),
            key_spec: Text::new(m.key_spec.as_str()),
            key_usage: Text::new(m.key_usage.as_str()),
            origin: Text::new(m.origin.as_str()),
            key_manager: Text::new(m.key_manager.as_str()),
            current_key_material_id: m.current_key_material_id.as_deref().map(Text::new),
            enabled: m.enabled,
            multi_region: m.multi_region,
            creation_date: m.creation_date.as_millis(),
            deletion_date: m.deletion_date.map_or(0, |d| d.as_millis()),
            pending_deletion_window_in_days: m.pending_deletion_window_in_days.unwrap_or(0),
        }
    }
}

castable!(trent_key_metadata: OwnershipBox<KeyMetadataView>);

fn new_metadata(m: &KeyMetadata) -> *mut trent_key_metadata {
    to_boxed_mut_ptr::<trent_key_metadata>(KeyMetadataView::from(m))
}

/// CreateKey with every option: the UTF-8 `description`, `key_spec` (`"SYMMETRIC_DEFAULT"`),
/// `key_usage` (`"ENCRYPT_DECRYPT"`) and key `policy` (JSON) may each be `(NULL, 0)` for the
/// default (AWS's default key policy for the account); `tags` are set on the new key;
/// `multi_region` makes a multi-Region primary key (`mrk-…`). On success `*metadata_out`
/// receives the new key's metadata. A spec or usage that is not a wire name is
/// `TRENT_RESULT_VALIDATION_EXCEPTION`; one the engine does not offer yet is
/// `TRENT_RESULT_UNSUPPORTED_OPERATION_EXCEPTION`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_create_key_with_options(
    kms: *const trent_kms,
    caller: *const trent_caller,
    #[optional] description: *const c_char,
    description_len: usize,
    #[optional] key_spec: *const c_char,
    key_spec_len: usize,
    #[optional] key_usage: *const c_char,
    key_usage_len: usize,
    #[optional] policy: *const c_char,
    policy_len: usize,
    tags: *const trent_tag,
    tags_len: usize,
    multi_region: bool,
    metadata_out: *mut *mut trent_key_metadata,
    err: *mut *mut trent_error,
) -> trent_result {
    let req = CreateKeyRequest {
        description: description.map(str::to_owned),
        key_spec: arg_enum(key_spec, "keySpec", KeySpec::parse, KeySpec::ALL, KeySpec::as_str)?,
        key_usage: arg_enum(key_usage, "keyUsage", KeyUsage::parse, KeyUsage::ALL, KeyUsage::as_str)?,
        policy: policy.map(str::to_owned),
        tags: arg_tags(tags)?,
        multi_region: Some(multi_region),
        ..Default::default()
    };
    metadata_out.write(new_metadata(&kms.create_key(caller, &req)?.key_metadata))
}

/// DescribeKey: the metadata of `key_id` (id, ARN, alias name or alias ARN), in
/// `*metadata_out` on success.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_describe_key(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    metadata_out: *mut *mut trent_key_metadata,
    err: *mut *mut trent_error,
) -> trent_result {
    metadata_out.write(new_metadata(&kms.describe_key(caller, &KeyIdRequest::new(key_id))?.key_metadata))
}

/// The key id (`1234abcd-…`, `mrk-…` for a multi-Region key); `{NULL, 0}` if `metadata`
/// is NULL.
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_key_id(metadata: *const trent_key_metadata) -> trent_str {
    metadata.key_id.as_c()
}

/// The key ARN (`arn:aws:kms:<region>:<account>:key/<id>`); `{NULL, 0}` if `metadata` is
/// NULL.
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_arn(metadata: *const trent_key_metadata) -> trent_str {
    metadata.arn.as_c()
}

/// The account that owns the key; `{NULL, 0}` if `metadata` is NULL.
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_aws_account_id(metadata: *const trent_key_metadata) -> trent_str {
    metadata.aws_account_id.as_c()
}

/// The description (empty when none was given); `{NULL, 0}` if `metadata` is NULL. May
/// contain NUL characters: use `len`.
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_description(metadata: *const trent_key_metadata) -> trent_str {
    metadata.description.as_c()
}

/// The key state, as AWS names it: `"Enabled"`, `"Disabled"`, `"PendingDeletion"`, …;
/// `{NULL, 0}` if `metadata` is NULL.
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_key_state(metadata: *const trent_key_metadata) -> trent_str {
    metadata.key_state.as_c()
}

/// The key spec (`"SYMMETRIC_DEFAULT"`, …); `{NULL, 0}` if `metadata` is NULL.
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_key_spec(metadata: *const trent_key_metadata) -> trent_str {
    metadata.key_spec.as_c()
}

/// The key usage (`"ENCRYPT_DECRYPT"`, …); `{NULL, 0}` if `metadata` is NULL.
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_key_usage(metadata: *const trent_key_metadata) -> trent_str {
    metadata.key_usage.as_c()
}

/// Where the key material came from (`"AWS_KMS"`); `{NULL, 0}` if `metadata` is NULL.
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_origin(metadata: *const trent_key_metadata) -> trent_str {
    metadata.origin.as_c()
}

/// `"CUSTOMER"` for keys callers made, `"AWS"` for service-managed keys; `{NULL, 0}` if
/// `metadata` is NULL.
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_key_manager(metadata: *const trent_key_metadata) -> trent_str {
    metadata.key_manager.as_c()
}

/// The id of the key material new ciphertexts use; `{NULL, 0}` when the key has none to
/// show (or `metadata` is NULL).
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_current_key_material_id(metadata: *const trent_key_metadata) -> trent_str {
    opt_c(metadata.current_key_material_id.as_ref())
}

/// Whether the key is enabled (state `Enabled`); false if `metadata` is NULL.
#[export(or = false)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_enabled(metadata: *const trent_key_metadata) -> bool {
    metadata.enabled
}

/// Whether the key is a multi-Region key; false if `metadata` is NULL.
#[export(or = false)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_multi_region(metadata: *const trent_key_metadata) -> bool {
    metadata.multi_region
}

/// When the key was created, in milliseconds since the Unix epoch; 0 if `metadata` is NULL.
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_creation_date(metadata: *const trent_key_metadata) -> i64 {
    metadata.creation_date
}

/// When a key `PendingDeletion` will be deleted, in milliseconds since the Unix epoch; 0 when
/// no deletion is scheduled (or `metadata` is NULL).
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_deletion_date(metadata: *const trent_key_metadata) -> i64 {
    metadata.deletion_date
}

/// The waiting period, in days, of a multi-Region primary key in state
/// `PendingReplicaDeletion`; 0 in every other state (a key `PendingDeletion` has its
/// `trent_key_metadata_deletion_date`), or if `metadata` is NULL. As AWS's
/// `PendingDeletionWindowInDays`.
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_pending_deletion_window_in_days(metadata: *const trent_key_metadata) -> u32 {
    metadata.pending_deletion_window_in_days
}

/// Frees key metadata; NULL is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_key_metadata_free(metadata: *mut trent_key_metadata) {
    free_box(metadata)
}

// ---------------------------------------------------------------------------------------------
// Listings

/// One page of a listing: rows of named text fields, the field names being the AWS member
/// names each listing function documents. Dates are decimal milliseconds since the Unix
/// epoch. Read with `trent_list_len`, `trent_list_get` and `trent_list_next_marker`.
/// Immutable: readable from any thread. Freed with `trent_list_free`.
#[allow(non_camel_case_types)]
pub struct trent_list {
    _private: [u8; 0],
}

/// The Rust side of `trent_list`.
#[derive(Debug)]
pub struct List {
    fields: &'static [&'static str],
    rows: Vec<Vec<Option<Text>>>,
    next_marker: Option<Text>,
}

castable!(trent_list: OwnershipBox<List>);

impl List {
    /// Hands a page of `items` to C, each made a row by `row`.
    fn new_handle<T>(
        fields: &'static [&'static str],
        items: &[T],
        next_marker: Option<&str>,
        row: impl Fn(&T) -> Vec<Option<String>>,
    ) -> *mut trent_list {
        let rows = items
            .iter()
            .map(|item| {
                let cells = row(item);
                debug_assert_eq!(cells.len(), fields.len());
                cells.iter().map(|c| c.as_deref().map(Text::new)).collect()
            })
            .collect();
        to_boxed_mut_ptr::<trent_list>(List { fields, rows, next_marker: next_marker.map(Text::new) })
    }
}

/// The paging arguments of a listing: `limit` 0 for the default, `marker` `(NULL, 0)` for the
/// first page.
fn paging(limit: u32, marker: Option<&str>) -> (Option<u32>, Option<String>) {
    ((limit != 0).then_some(limit), marker.map(str::to_owned))
}

/// ListKeys: one page of the keys in the account and region. Fields `KeyId`, `KeyArn`.
/// `limit` is the page size (1–1000, 0 for the default 100); `marker` is `(NULL, 0)` for the
/// first page, else the previous page's `trent_list_next_marker`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_list_keys(
    kms: *const trent_kms,
    caller: *const trent_caller,
    limit: u32,
    #[optional] marker: *const c_char,
    marker_len: usize,
    list_out: *mut *mut trent_list,
    err: *mut *mut trent_error,
) -> trent_result {
    let (limit, marker) = paging(limit, marker);
    let resp = kms.list_keys(caller, &ListKeysRequest { limit, marker })?;
    list_out.write(List::new_handle(&["KeyId", "KeyArn"], &resp.keys, resp.next_marker.as_deref(), |k| {
        vec![Some(k.key_id.clone()), Some(k.key_arn.clone())]
    }))
}

/// ListAliases: one page of the aliases, of all keys or, when `key_id` is not `(NULL, 0)`,
/// of that key. Fields `AliasName`, `AliasArn`, `TargetKeyId`, `CreationDate`,
/// `LastUpdatedDate`. Paging as in `trent_kms_list_keys`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_list_aliases(
    kms: *const trent_kms,
    caller: *const trent_caller,
    #[optional] key_id: *const c_char,
    key_id_len: usize,
    limit: u32,
    #[optional] marker: *const c_char,
    marker_len: usize,
    list_out: *mut *mut trent_list,
    err: *mut *mut trent_error,
) -> trent_result {
    let (limit, marker) = paging(limit, marker);
    let resp = kms.list_aliases(caller, &ListAliasesRequest { key_id: key_id.map(str::to_owned), limit, marker })?;
    let fields = &["AliasName", "AliasArn", "TargetKeyId", "CreationDate", "LastUpdatedDate"];
    list_out.write(List::new_handle(fields, &resp.aliases, resp.next_marker.as_deref(), |a| {
        vec![
            Some(a.alias_name.clone()),
            Some(a.alias_arn.clone()),
            Some(a.target_key_id.clone()),
            Some(a.creation_date.as_millis().to_string()),
            Some(a.last_updated_date.as_millis().to_string()),
        ]
    }))
}

/// ListResourceTags: one page of the tags of `key_id`. Fields `TagKey`, `TagValue`. Paging
/// as in `trent_kms_list_keys` (`limit` 1–50, default 50).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_list_resource_tags(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    limit: u32,
    #[optional] marker: *const c_char,
    marker_len: usize,
    list_out: *mut *mut trent_list,
    err: *mut *mut trent_error,
) -> trent_result {
    let (limit, marker) = paging(limit, marker);
    let resp = kms.list_resource_tags(caller, &ListResourceTagsRequest { key_id: key_id.to_owned(), limit, marker })?;
    list_out.write(List::new_handle(&["TagKey", "TagValue"], &resp.tags, resp.next_marker.as_deref(), |t| {
        vec![Some(t.tag_key.clone()), Some(t.tag_value.clone())]
    }))
}

/// ListKeyRotations: one page of the rotations of `key_id`, oldest first. Fields `KeyId`,
/// `KeyMaterialId`, `KeyMaterialState`, `RotationDate`, `RotationType` (`"AUTOMATIC"` or
/// `"ON_DEMAND"`). Paging as in `trent_kms_list_keys`.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_list_key_rotations(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    limit: u32,
    #[optional] marker: *const c_char,
    marker_len: usize,
    list_out: *mut *mut trent_list,
    err: *mut *mut trent_error,
) -> trent_result {
    let (limit, marker) = paging(limit, marker);
    let req = ListKeyRotationsRequest { key_id: key_id.to_owned(), limit, marker, ..Default::default() };
    let resp = kms.list_key_rotations(caller, &req)?;
    let fields = &["KeyId", "KeyMaterialId", "KeyMaterialState", "RotationDate", "RotationType"];
    list_out.write(List::new_handle(fields, &resp.rotations, resp.next_marker.as_deref(), |r| {
        vec![
            Some(r.key_id.clone()),
            Some(r.key_material_id.clone()),
            Some(r.key_material_state.as_str().to_owned()),
            Some(r.rotation_date.as_millis().to_string()),
            r.rotation_type.map(|t| t.as_str().to_owned()),
        ]
    }))
}

/// The number of rows of a listing page; 0 if `list` is NULL.
#[export(or = 0)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_list_len(list: *const trent_list) -> usize {
    list.rows.len()
}

/// Field `field` (an AWS member name, UTF-8 `(pointer, length)`) of row `row`: on success
/// `*value_out` receives it, valid until `trent_list_free`, or `{NULL, 0}` when the row has
/// no such value (an optional member). `TRENT_RESULT_INDEX_OUT_OF_RANGE` if `row` is past the
/// end; `TRENT_RESULT_INVALID_ARGUMENT` if the listing has no field of that name.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_list_get(
    list: *const trent_list,
    row: usize,
    field: *const c_char,
    field_len: usize,
    value_out: *mut trent_str,
    err: *mut *mut trent_error,
) -> trent_result {
    let column = list.fields.iter().position(|f| *f == field).ok_or_else(|| {
        Failure::invalid_argument(format!("this listing has no field {field:?}; it has {}", list.fields.join(", ")))
    })?;
    let cells = list.rows.get(row).ok_or_else(|| {
        Failure::new(
            trent_result::IndexOutOfRange,
            format!("row {row} is past the end of a page of {}", list.rows.len()),
        )
    })?;
    value_out.write(opt_c(cells[column].as_ref()))
}

/// The marker of the next page (pass it to the same listing function), or `{NULL, 0}` when
/// this is the last page (or `list` is NULL).
#[export(or = trent_str::ABSENT)]
#[unsafe(no_mangle)]
pub extern "C" fn trent_list_next_marker(list: *const trent_list) -> trent_str {
    opt_c(list.next_marker.as_ref())
}

/// Frees a listing page; NULL is accepted.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_list_free(list: *mut trent_list) {
    free_box(list)
}

// ---------------------------------------------------------------------------------------------
// Tags and the rotation status

/// TagResource: adds `tags` (`tags_len` entries) to `key_id`, replacing the values of tags
/// it already has. At most 50 tags per key.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_tag_resource(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    tags: *const trent_tag,
    tags_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    kms.tag_resource(caller, &TagResourceRequest { key_id: key_id.to_owned(), tags: arg_tags(tags)? })
}

/// UntagResource: removes the tags named by `tag_keys` (`tag_keys_len` strings) from
/// `key_id`; names it does not have are ignored.
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_untag_resource(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    tag_keys: *const trent_str,
    tag_keys_len: usize,
    err: *mut *mut trent_error,
) -> trent_result {
    let tag_keys =
        tag_keys.iter().map(|k| arg_str(k.data, k.len, "tag key").map(str::to_owned)).collect::<Result<_, _>>()?;
    kms.untag_resource(caller, &UntagResourceRequest { key_id: key_id.to_owned(), tag_keys })
}

/// GetKeyRotationStatus: on success `*enabled_out` receives whether automatic rotation is on,
/// `*rotation_period_in_days_out` its period (0 when off) and `*next_rotation_date_out` the
/// next automatic rotation in milliseconds since the Unix epoch (0 when none is due).
#[export]
#[unsafe(no_mangle)]
pub extern "C" fn trent_kms_get_key_rotation_status(
    kms: *const trent_kms,
    caller: *const trent_caller,
    key_id: *const c_char,
    key_id_len: usize,
    enabled_out: *mut bool,
    rotation_period_in_days_out: *mut u32,
    next_rotation_date_out: *mut i64,
    err: *mut *mut trent_error,
) -> trent_result {
    let resp = kms.get_key_rotation_status(caller, &KeyIdRequest::new(key_id))?;
    enabled_out.write(resp.key_rotation_enabled);
    rotation_period_in_days_out.write(resp.rotation_period_in_days.unwrap_or(0));
    next_rotation_date_out.write(resp.next_rotation_date.map_or(0, |d| d.as_millis()))
}
