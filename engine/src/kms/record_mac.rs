//! Authenticated keystore records: the MAC of every key record and alias record, its key, the
//! canonical encoding it covers, and the errors of a record that fails. What it covers and what
//! it cannot catch is documented for users in the [`store`](crate::store) module
//! ("Authenticated records").
//!
//! The engine computes a record's MAC before every write and checks it after every read of the
//! record from the store (`Inner::load_key`, `Inner::authenticate_key`, `Inner::load_alias`,
//! `Inner::load_aliases`); records it holds in its cache are not checked again, so Encrypt and
//! Decrypt on a cached key pay nothing for this.

use super::material::RootKey;
use super::secret_error;
use crate::clock::Timestamp;
use crate::crypto::{self, HmacKey, KEY_LEN};
use crate::error::{Error, Result};
use crate::id::{AliasName, KeyId};
use crate::key::{AliasRecord, KeyRecord, KeyVersion, RotationSchedule};
use crate::secret::{Arena, Locked};
use crate::store::Reseal;

/// The HKDF info of the record MAC key.
const RECORD_MAC_INFO: &[u8] = b"trent record mac v1";
/// The label that starts the encoding of a key record.
const KEY_RECORD_LABEL: &str = "trent key record v1";
/// The label that starts the encoding of an alias record.
const ALIAS_RECORD_LABEL: &str = "trent alias record v1";

/// The key that authenticates the store's records, in locked memory.
pub(crate) struct RecordMacKey {
    key: Locked<HmacKey>,
}

impl RecordMacKey {
    /// The record MAC key of the root key `root`.
    pub(crate) fn derive(arena: &Arena, root: &[u8; KEY_LEN]) -> Result<Self> {
        let mut okm = arena.alloc(KEY_LEN).map_err(secret_error)?;
        crypto::hkdf_sha256(&[], root, &[RECORD_MAC_INFO], okm.expose_secret_mut())
            .map_err(|_| Error::Internal("Deriving the record MAC key failed".into()))?;
        let key = arena.locked(HmacKey::new(okm.expose_secret())).map_err(secret_error)?;
        Ok(Self { key })
    }

    /// Sets the MAC of a key record (after every other field, the revision included).
    pub(crate) fn seal_key(&self, record: &mut KeyRecord) {
        record.mac = Some(self.key.sign(&[&key_record_bytes(record)]).to_vec());
    }

    /// Whether a key record carries its MAC.
    pub(crate) fn check_key(&self, record: &KeyRecord) -> bool {
        record.mac.as_deref().is_some_and(|mac| self.key.verify(&[&key_record_bytes(record)], mac))
    }

    /// Sets the MAC of an alias record.
    pub(crate) fn seal_alias(&self, alias: &mut AliasRecord) {
        alias.mac = Some(self.key.sign(&[&alias_record_bytes(alias)]).to_vec());
    }

    /// Whether an alias record carries its MAC.
    pub(crate) fn check_alias(&self, alias: &AliasRecord) -> bool {
        alias.mac.as_deref().is_some_and(|mac| self.key.verify(&[&alias_record_bytes(alias)], mac))
    }
}

/// The error of a key record that failed authentication.
pub(crate) fn key_failed(id: &KeyId) -> Error {
    Error::Internal(format!(
        "The keystore record of key {id} failed authentication: it was changed outside Trent, and Trent will not \
         use it. Restore the keystore from a backup"
    ))
}

/// The error of an alias record that failed authentication.
pub(crate) fn alias_failed(name: &AliasName) -> Error {
    Error::Internal(format!(
        "The keystore record of alias {name} failed authentication: it was changed outside Trent, and Trent will \
         not use it. Restore the keystore from a backup"
    ))
}

/// The error of a key record older than the one the engine holds.
pub(crate) fn key_rolled_back(id: &KeyId, stored: u64, held: u64) -> Error {
    Error::Internal(format!(
        "The keystore holds revision {stored} of key {id}, older than revision {held} this engine already read: the \
         record was rolled back outside Trent, and Trent will not use it. Restore the keystore from a backup"
    ))
}

/// Root key rotation's part of [`Store::reseal_all`]: checks every record under the old root
/// key (a record changed outside Trent must not become valid under the new one), rewraps its
/// material and MACs it under the new root key.
///
/// [`Store::reseal_all`]: crate::store::Store::reseal_all
pub(crate) struct Rotation<'a> {
    pub arena: &'a Arena,
    pub old: &'a RootKey,
    pub new: &'a RootKey,
    /// Versions rewrapped so far.
    pub versions: u64,
}

impl Reseal for Rotation<'_> {
    fn key(&mut self, record: &mut KeyRecord) -> Result<()> {
        if !self.old.records().check_key(record) {
            return Err(key_failed(&record.id));
        }
        for v in &mut record.versions {
            let material = self.old.unwrap(self.arena, &record.id, v.number, &v.wrapped)?;
            v.wrapped = self.new.wrap(&record.id, v.number, material.expose_secret())?;
            self.versions += 1;
        }
        self.new.records().seal_key(record);
        Ok(())
    }

    fn alias(&mut self, alias: &mut AliasRecord) -> Result<()> {
        if !self.old.records().check_alias(alias) {
            return Err(alias_failed(&alias.name));
        }
        self.new.records().seal_alias(alias);
        Ok(())
    }
}

/// The first open of a store made before records carried MACs: MACs every record that has
/// none (all of them, unless the store was tampered with), as it is.
pub(crate) struct Authenticate<'a>(pub &'a RootKey);

impl Reseal for Authenticate<'_> {
    fn key(&mut self, record: &mut KeyRecord) -> Result<()> {
        if record.mac.is_none() {
            self.0.records().seal_key(record);
        }
        Ok(())
    }

    fn alias(&mut self, alias: &mut AliasRecord) -> Result<()> {
        if alias.mac.is_none() {
            self.0.records().seal_alias(alias);
        }
        Ok(())
    }
}

/// The canonical encoding of records (see the module documentation).
struct Encoder(Vec<u8>);

impl Encoder {
    fn new(label: &str) -> Self {
        let mut enc = Self(Vec::with_capacity(512));
        enc.str(label);
        enc
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn time(&mut self, t: Timestamp) -> &mut Self {
        self.0.extend_from_slice(&t.as_millis().to_be_bytes());
        self
    }

    fn len(&mut self, n: usize) -> &mut Self {
        // usize is at most 64 bits on every target Rust supports.
        self.u64(n as u64)
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.len(b.len());
        self.0.extend_from_slice(b);
        self
    }

    fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    fn flag(&mut self, b: bool) -> &mut Self {
        self.0.push(u8::from(b));
        self
    }

    fn opt<T>(&mut self, v: Option<T>, mut some: impl FnMut(&mut Self, T)) -> &mut Self {
        self.flag(v.is_some());
        if let Some(v) = v {
            some(self, v);
        }
        self
    }
}

/// The bytes a key record's MAC covers: every field but the MAC itself.
fn key_record_bytes(record: &KeyRecord) -> Vec<u8> {
    // Destructured whole, so that a field added to the record cannot be left out unnoticed.
    let KeyRecord {
        id,
        revision,
        creation_date,
        state,
        description,
        key_usage,
        key_spec,
        origin,
        key_manager,
        multi_region,
        deletion_date,
        pending_window_days,
        policy,
        tags,
        rotation,
        versions,
        current_version,
        mac: _,
    } = record;
    let RotationSchedule { enabled, period_days, next_rotation, on_demand_count } = rotation;
    let mut e = Encoder::new(KEY_RECORD_LABEL);
    e.str(&id.to_string()).u64(*revision).time(*creation_date);
    e.str(state.as_str()).str(description).str(key_usage.as_str()).str(key_spec.as_str());
    e.str(origin.as_str()).str(key_manager.as_str()).flag(*multi_region);
    e.opt(*deletion_date, |e, t| {
        e.time(t);
    });
    e.opt(*pending_window_days, |e, d| {
        e.u64(u64::from(d));
    });
    e.str(policy).len(tags.len());
    for (k, v) in tags {
        e.str(k).str(v);
    }
    e.flag(*enabled).u64(u64::from(*period_days));
    e.opt(*next_rotation, |e, t| {
        e.time(t);
    });
    e.u64(u64::from(*on_demand_count)).u64(u64::from(*current_version)).len(versions.len());
    for version in versions {
        let KeyVersion { number, material_id, wrapped, created, rotation_type } = version;
        e.u64(u64::from(*number)).str(material_id).bytes(wrapped).time(*created);
        e.opt(*rotation_type, |e, t| {
            e.str(t.as_str());
        });
    }
    e.0
}

/// The bytes an alias record's MAC covers: every field but the MAC itself.
fn alias_record_bytes(alias: &AliasRecord) -> Vec<u8> {
    let AliasRecord { name, target, creation_date, last_updated, mac: _ } = alias;
    let mut e = Encoder::new(ALIAS_RECORD_LABEL);
    e.str(name.as_str()).str(&target.to_string()).time(*creation_date).time(*last_updated);
    e.0
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::key::{KeyManager, KeySpec, KeyState, KeyUsage, OriginType, RotationType};
    use crate::secret::ArenaConfig;

    fn arena() -> Arena {
        Arena::new(ArenaConfig { allow_unlocked: true, ..ArenaConfig::default() }).unwrap()
    }

    fn time() -> impl Strategy<Value = Timestamp> {
        any::<i64>().prop_map(Timestamp::from_millis)
    }

    fn version(number: u32) -> impl Strategy<Value = KeyVersion> {
        ("[0-9a-f]{64}", proptest::collection::vec(any::<u8>(), 60), time(), any::<Option<bool>>()).prop_map(
            move |(material_id, wrapped, created, kind)| KeyVersion {
                number,
                material_id,
                wrapped,
                created,
                rotation_type: kind.map(|a| if a { RotationType::Automatic } else { RotationType::OnDemand }),
            },
        )
    }

    prop_compose! {
        fn record()(
            random in any::<[u8; 16]>(),
            revision in any::<u64>(),
            creation_date in time(),
            state in prop::sample::select(vec![KeyState::Enabled, KeyState::Disabled, KeyState::PendingDeletion]),
            description in ".{0,20}",
            multi_region in any::<bool>(),
            deletion_date in proptest::option::of(time()),
            pending_window_days in proptest::option::of(7u32..=30),
            policy in ".{0,40}",
            tags in proptest::collection::btree_map(".{1,8}", ".{0,8}", 0..4),
            enabled in any::<bool>(),
            period_days in 90u32..=2560,
            next_rotation in proptest::option::of(time()),
            on_demand_count in 0u32..=25,
            versions in (1u32..4).prop_flat_map(|n| (1..=n).map(version).collect::<Vec<_>>()),
            current in any::<prop::sample::Index>(),
        ) -> KeyRecord {
            let current_version = u32::try_from(current.index(versions.len())).unwrap() + 1;
            KeyRecord {
                id: if multi_region { KeyId::new_multi_region(random) } else { KeyId::new_random(random) },
                revision,
                creation_date,
                state,
                description,
                key_usage: KeyUsage::EncryptDecrypt,
                key_spec: KeySpec::SymmetricDefault,
                origin: OriginType::AwsKms,
                key_manager: KeyManager::Customer,
                multi_region,
                deletion_date,
                pending_window_days,
                policy,
                tags,
                rotation: RotationSchedule { enabled, period_days, next_rotation, on_demand_count },
                versions,
                current_version,
                mac: None,
            }
        }
    }

    /// The single-field changes of a key record an attacker with write access could make
    /// (`i` picks which; `n` feeds the new value).
    fn change(r: &mut KeyRecord, i: usize, n: u8) {
        let bump = |t: Timestamp| Timestamp::from_millis(t.as_millis().wrapping_add(1));
        let other_id = |id: KeyId| {
            let mut b = *id.as_bytes();
            b[15] ^= 1 | n;
            KeyId::new_random(b)
        };
        match i % 22 {
            0 => r.id = other_id(r.id),
            1 => r.revision = r.revision.wrapping_sub(1),
            2 => r.creation_date = bump(r.creation_date),
            3 => r.state = if r.state == KeyState::Enabled { KeyState::Disabled } else { KeyState::Enabled },
            4 => r.description.push(char::from(b'a' + n % 26)),
            5 => r.multi_region = !r.multi_region,
            6 => r.deletion_date = r.deletion_date.map_or(Some(Timestamp::from_millis(0)), |_| None),
            7 => r.pending_window_days = r.pending_window_days.map_or(Some(7), |_| None),
            8 => r.policy.push(' '),
            9 => {
                r.tags.insert(format!("k{n}-new"), String::new());
            }
            10 => r.rotation.enabled = !r.rotation.enabled,
            11 => r.rotation.period_days += 1,
            12 => r.rotation.next_rotation = r.rotation.next_rotation.map_or(Some(Timestamp::from_millis(0)), |_| None),
            13 => r.rotation.on_demand_count += 1,
            14 => r.current_version = r.current_version.wrapping_sub(1),
            15 => {
                r.versions.pop();
            }
            16 => {
                let id = &mut r.versions[0].material_id;
                let first = if id.starts_with('0') { "1" } else { "0" };
                id.replace_range(0..1, first);
            }
            17 => r.versions[0].wrapped[usize::from(n) % 60] ^= 1,
            18 => r.versions[0].created = bump(r.versions[0].created),
            19 => {
                r.versions[0].rotation_type = r.versions[0].rotation_type.map_or(Some(RotationType::OnDemand), |_| None)
            }
            20 => r.versions[0].number += 1,
            _ => r.key_manager = KeyManager::Aws,
        }
    }

    proptest! {
        #[test]
        fn any_single_field_change_breaks_a_key_records_mac(mut r in record(), i in 0usize..22, n in any::<u8>()) {
            let arena = arena();
            let key = RecordMacKey::derive(&arena, &[7; KEY_LEN]).unwrap();
            key.seal_key(&mut r);
            prop_assert!(key.check_key(&r));
            let before = r.clone();
            change(&mut r, i, n);
            prop_assume!(r != before);
            prop_assert!(!key.check_key(&r), "change {} kept the MAC valid", i);
        }

        /// Two adjacent strings cut in another place encode differently.
        #[test]
        fn moving_bytes_between_fields_breaks_the_mac(mut r in record(), cut in any::<prop::sample::Index>()) {
            let arena = arena();
            let key = RecordMacKey::derive(&arena, &[7; KEY_LEN]).unwrap();
            r.description = "description".into();
            r.policy = "policy".into();
            key.seal_key(&mut r);
            let joined = format!("{}{}", r.description, r.policy);
            let at = cut.index(joined.len());
            prop_assume!(at != r.description.len());
            r.description = joined[..at].to_owned();
            r.policy = joined[at..].to_owned();
            prop_assert!(!key.check_key(&r));
        }
    }

    fn alias() -> AliasRecord {
        AliasRecord {
            name: AliasName::parse("alias/a").unwrap(),
            target: KeyId::new_random([1; 16]),
            creation_date: Timestamp::from_millis(1),
            last_updated: Timestamp::from_millis(2),
            mac: None,
        }
    }

    #[test]
    fn alias_records_are_bound_to_name_target_and_dates() {
        let arena = arena();
        let key = RecordMacKey::derive(&arena, &[7; KEY_LEN]).unwrap();
        let mut alias = alias();
        assert!(!key.check_alias(&alias), "no MAC is not a valid MAC");
        key.seal_alias(&mut alias);
        assert!(key.check_alias(&alias));
        let changes: [fn(&mut AliasRecord); 4] = [
            |a| a.name = AliasName::parse("alias/b").unwrap(),
            |a| a.target = KeyId::new_random([2; 16]),
            |a| a.creation_date = Timestamp::from_millis(3),
            |a| a.last_updated = Timestamp::from_millis(3),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut changed = alias.clone();
            change(&mut changed);
            assert!(!key.check_alias(&changed), "change {i}");
        }
        // Another root key's MAC key does not accept it.
        let other = RecordMacKey::derive(&arena, &[8; KEY_LEN]).unwrap();
        assert!(!other.check_alias(&alias));
    }

    #[test]
    fn the_mac_key_is_hkdf_of_the_root_key() {
        let arena = arena();
        let root = [7u8; KEY_LEN];
        let mut okm = [0u8; 32];
        crypto::hkdf_sha256(&[], &root, &[b"trent record mac v1"], &mut okm).unwrap();
        let key = RecordMacKey::derive(&arena, &root).unwrap();
        let mut alias = alias();
        key.seal_alias(&mut alias);
        assert_eq!(alias.mac.as_deref(), Some(&crypto::hmac_sha256(&okm, &alias_record_bytes(&alias))[..]));
    }
}
