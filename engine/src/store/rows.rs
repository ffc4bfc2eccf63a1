//! The rows the SQL backends store, and their mapping to records.
//!
//! Both SQL backends keep the same tables; only column types and placeholders differ:
//!
//! | table               | one row per                | columns                                               |
//! |---------------------|----------------------------|-------------------------------------------------------|
//! | `keys`              | key                        | the metadata of [`KeyRecord`] in the clear (tags as JSON), its MAC |
//! | `key_versions`      | version of a key           | number, KeyMaterialId, wrapped material, creation     |
//! | `aliases`           | alias                      | name, target key id, dates, its MAC                   |
//! | `meta`              | store fact                 | name, value (root key check, KDF salt)                |
//! | `changes`           | change, in commit order    | seq, kind (`k` key, `a` alias), name, time            |
//! | `audit`             | audit event                | seq, time, operation, key ARN, outcome, JSON event    |
//! | `schema_migrations` | applied migration          | version, time                                         |
//!
//! Times are milliseconds since the Unix epoch.
//!
//! The `mac` columns (added by migration 3; `NULL` in rows written before it) hold
//! [`KeyRecord::mac`] and [`AliasRecord::mac`] as the engine computed them. A key's MAC covers
//! its `keys` row and all its `key_versions` rows, so a version row removed, added or changed
//! fails it too. The store only keeps the MACs; the engine checks them after every read.

use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::{AliasName, KeyId};
use crate::key::{
    AliasRecord, KeyManager, KeyRecord, KeySpec, KeyState, KeyUsage, KeyVersion, OriginType, RotationSchedule,
    RotationType,
};
use crate::store::{Change, Changes};

/// The columns of `keys`, in the order of [`KeyRow`]'s fields.
pub(super) const KEY_COLUMNS: &str = "id, revision, creation_date, state, description, key_usage, key_spec, origin, \
     key_manager, multi_region, deletion_date, pending_window_days, policy, tags, rotation_enabled, \
     rotation_period_days, next_rotation, on_demand_count, current_version, mac";

/// Changes kept in the feed; older ones are pruned (a reader that far behind drops its caches).
pub(super) const CHANGES_KEPT: i64 = 100_000;

/// One row of `keys`.
pub(super) struct KeyRow {
    pub id: String,
    pub revision: i64,
    pub creation_date: i64,
    pub state: String,
    pub description: String,
    pub key_usage: String,
    pub key_spec: String,
    pub origin: String,
    pub key_manager: String,
    pub multi_region: bool,
    pub deletion_date: Option<i64>,
    pub pending_window_days: Option<i64>,
    pub policy: String,
    pub tags: String,
    pub rotation_enabled: bool,
    pub rotation_period_days: i64,
    pub next_rotation: Option<i64>,
    pub on_demand_count: i64,
    pub current_version: i64,
    pub mac: Option<Vec<u8>>,
}

/// One row of `key_versions` (without the key id).
pub(super) struct VersionRow {
    pub number: i64,
    pub material_id: String,
    pub wrapped: Vec<u8>,
    pub created: i64,
    pub rotation_type: Option<String>,
}

/// Reads a [`KeyRow`], [`VersionRow`] or [`AliasRow`] from a result row whose columns are the
/// struct's fields in order ([`KEY_COLUMNS`], `number, material_id, wrapped, created,
/// rotation_type`, [`ALIAS_COLUMNS`]): `read_row!(KeyRow, |i| get)` evaluates `get` with `i`
/// the index of each column in turn. Each backend passes its own column read, so the column
/// order is written once, here.
macro_rules! read_row {
    (KeyRow, |$i:ident| $get:expr) => {
        $crate::store::rows::read_row!(@fields KeyRow {
            id, revision, creation_date, state, description, key_usage, key_spec, origin, key_manager,
            multi_region, deletion_date, pending_window_days, policy, tags, rotation_enabled,
            rotation_period_days, next_rotation, on_demand_count, current_version, mac,
        }, |$i| $get)
    };
    (VersionRow, |$i:ident| $get:expr) => {
        $crate::store::rows::read_row!(@fields VersionRow {
            number, material_id, wrapped, created, rotation_type,
        }, |$i| $get)
    };
    (AliasRow, |$i:ident| $get:expr) => {
        $crate::store::rows::read_row!(@fields AliasRow {
            name, target, creation_date, last_updated, mac,
        }, |$i| $get)
    };
    (@fields $row:ident { $($field:ident),+ $(,)? }, |$i:ident| $get:expr) => {{
        let mut columns = 0usize..;
        $row { $($field: { let $i = columns.next().expect("an unbounded range"); $get }),+ }
    }};
}
pub(super) use read_row;

/// A stored value that does not map back to a record: the store was changed outside Trent
/// or is damaged.
pub(super) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Internal(format!("The keystore holds an invalid {what}"))
}

fn int(v: i64, what: &str, id: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| corrupt(format_args!("{what} for key {id}")))
}

impl KeyRow {
    pub fn from_record(r: &KeyRecord) -> Result<Self> {
        Ok(Self {
            id: r.id.to_string(),
            revision: i64::try_from(r.revision).map_err(|_| Error::Internal("Key revision overflow".into()))?,
            creation_date: r.creation_date.as_millis(),
            state: r.state.as_str().to_owned(),
            description: r.description.clone(),
            key_usage: r.key_usage.as_str().to_owned(),
            key_spec: r.key_spec.as_str().to_owned(),
            origin: r.origin.as_str().to_owned(),
            key_manager: r.key_manager.as_str().to_owned(),
            multi_region: r.multi_region,
            deletion_date: r.deletion_date.map(Timestamp::as_millis),
            pending_window_days: r.pending_window_days.map(i64::from),
            policy: r.policy.clone(),
            tags: serde_json::to_string(&r.tags).map_err(|_| Error::Internal("Tags do not serialize".into()))?,
            rotation_enabled: r.rotation.enabled,
            rotation_period_days: i64::from(r.rotation.period_days),
            next_rotation: r.rotation.next_rotation.map(Timestamp::as_millis),
            on_demand_count: i64::from(r.rotation.on_demand_count),
            current_version: i64::from(r.current_version),
            mac: r.mac.clone(),
        })
    }

    pub fn into_record(self, versions: Vec<VersionRow>) -> Result<KeyRecord> {
        let id = self.id.as_str();
        let bad = |what: &str| corrupt(format_args!("{what} for key {id}"));
        let tags: BTreeMap<String, String> = serde_json::from_str(&self.tags).map_err(|_| bad("tag list"))?;
        let versions = versions
            .into_iter()
            .map(|v| {
                Ok(KeyVersion {
                    number: int(v.number, "version number", id)?,
                    material_id: v.material_id,
                    wrapped: v.wrapped,
                    created: Timestamp::from_millis(v.created),
                    rotation_type: match v.rotation_type {
                        None => None,
                        Some(t) => Some(RotationType::parse(&t).ok_or_else(|| bad("rotation type"))?),
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KeyRecord {
            id: KeyId::parse(id)
                .ok_or_else(|| corrupt(format_args!("key id '{}'", crate::id::truncate_for_message(id))))?,
            revision: u64::try_from(self.revision).map_err(|_| bad("revision"))?,
            creation_date: Timestamp::from_millis(self.creation_date),
            state: KeyState::parse(&self.state).ok_or_else(|| bad("key state"))?,
            description: self.description,
            key_usage: KeyUsage::parse(&self.key_usage).ok_or_else(|| bad("key usage"))?,
            key_spec: KeySpec::parse(&self.key_spec).ok_or_else(|| bad("key spec"))?,
            origin: OriginType::parse(&self.origin).ok_or_else(|| bad("origin"))?,
            key_manager: KeyManager::parse(&self.key_manager).ok_or_else(|| bad("key manager"))?,
            multi_region: self.multi_region,
            deletion_date: self.deletion_date.map(Timestamp::from_millis),
            pending_window_days: self.pending_window_days.map(|d| int(d, "waiting period", id)).transpose()?,
            policy: self.policy,
            tags,
            rotation: RotationSchedule {
                enabled: self.rotation_enabled,
                period_days: int(self.rotation_period_days, "rotation period", id)?,
                next_rotation: self.next_rotation.map(Timestamp::from_millis),
                on_demand_count: int(self.on_demand_count, "rotation count", id)?,
            },
            versions,
            current_version: int(self.current_version, "current version", id)?,
            mac: self.mac,
        })
    }
}

impl VersionRow {
    pub fn from_version(v: &KeyVersion) -> Self {
        Self {
            number: i64::from(v.number),
            material_id: v.material_id.clone(),
            wrapped: v.wrapped.clone(),
            created: v.created.as_millis(),
            rotation_type: v.rotation_type.map(|t| t.as_str().to_owned()),
        }
    }
}

/// The columns of `aliases`, in the order of [`AliasRow`]'s fields.
pub(super) const ALIAS_COLUMNS: &str = "name, target, creation_date, last_updated, mac";

/// One row of `aliases`.
pub(super) struct AliasRow {
    pub name: String,
    pub target: String,
    pub creation_date: i64,
    pub last_updated: i64,
    pub mac: Option<Vec<u8>>,
}

impl AliasRow {
    pub fn from_record(a: &AliasRecord) -> Self {
        Self {
            name: a.name.as_str().to_owned(),
            target: a.target.to_string(),
            creation_date: a.creation_date.as_millis(),
            last_updated: a.last_updated.as_millis(),
            mac: a.mac.clone(),
        }
    }

    pub fn into_record(self) -> Result<AliasRecord> {
        let name = self.name.as_str();
        Ok(AliasRecord {
            name: AliasName::parse(name).map_err(|_| corrupt("alias name"))?,
            target: KeyId::parse(&self.target).ok_or_else(|| corrupt(format_args!("target of alias {name}")))?,
            creation_date: Timestamp::from_millis(self.creation_date),
            last_updated: Timestamp::from_millis(self.last_updated),
            mac: self.mac,
        })
    }
}

/// A change feed entry from its columns.
pub(super) fn change(kind: &str, name: &str) -> Result<Change> {
    match kind {
        "k" => KeyId::parse(name).map(Change::Key).ok_or_else(|| corrupt("change feed entry")),
        "a" => AliasName::parse(name).map(Change::Alias).map_err(|_| corrupt("change feed entry")),
        _ => Err(corrupt("change feed entry")),
    }
}

/// The conflict error of a failed compare-and-set.
pub(super) fn conflict(id: &KeyId, stored: i64, expected: u64) -> Error {
    Error::Conflict(format!("Key '{id}' was changed concurrently (revision {stored}, expected {expected})"))
}

/// Whether a key row at `revision` in `state` may be deleted by a [`Store::delete_key`] that
/// expects `expected`.
///
/// [`Store::delete_key`]: crate::store::Store::delete_key
pub(super) fn deletable(revision: i64, state: &str, expected: u64) -> bool {
    u64::try_from(revision).ok() == Some(expected) && state == KeyState::PendingDeletion.as_str()
}

/// The error of creating an alias whose name is taken.
pub(super) fn alias_exists(name: &AliasName) -> Error {
    Error::AlreadyExists(format!("An alias with the name {name} already exists"))
}

/// The error of changing an alias that does not exist.
pub(super) fn alias_missing(name: &AliasName) -> Error {
    Error::NotFound(format!("Alias {name} is not found."))
}

/// The [`Changes`] after `cursor` from the feed's rows and its oldest kept sequence number.
pub(super) fn changes_from(cursor: u64, first: Option<i64>, rows: Vec<(i64, String, String)>) -> Result<Changes> {
    let first = first.and_then(|f| u64::try_from(f).ok());
    let complete = first.is_none_or(|f| f <= cursor.saturating_add(1));
    let mut out = Changes { cursor, changes: Vec::with_capacity(rows.len()), complete };
    for (seq, kind, name) in rows {
        out.cursor = out.cursor.max(u64::try_from(seq).unwrap_or(0));
        out.changes.push(change(&kind, &name)?);
    }
    Ok(out)
}
