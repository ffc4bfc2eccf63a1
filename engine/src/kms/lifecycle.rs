//! Key lifecycle, tags, aliases and rotation.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::material::VersionKeys;
use super::types::*;
use super::{
    AuditNote, Caller, Inner, Kms, LiveKey, Now, check_grant_tokens, check_usable, page_limit, parse_marker,
    rng_failed, secret_error,
};
use crate::clock::{DAY_MS, Timestamp};
use crate::crypto::{self, KEY_LEN};
use crate::error::{Error, Result};
use crate::id::{self, AliasName, IdForms, KeyId};
use crate::key::{
    AliasRecord, DEFAULT_PENDING_WINDOW_DAYS, DEFAULT_ROTATION_PERIOD_DAYS, EncryptionAlgorithmSpec, KeyManager,
    KeyMaterialState, KeyRecord, KeySpec, KeyState, KeyUsage, KeyVersion, MAX_ALIASES_PER_KEY, MAX_ON_DEMAND_ROTATIONS,
    MAX_TAGS_PER_KEY, OriginType, PENDING_WINDOW_DAYS, ROTATION_PERIOD_DAYS, RotationSchedule, RotationType, Tag,
};
use crate::secret::SecretBytes;

/// Largest key policy, as the AWS quota has it (the model allows 131072 characters).
pub const MAX_POLICY_LEN: usize = 32 * 1024;
/// Longest description.
pub const MAX_DESCRIPTION_LEN: usize = 8192;
/// On-demand rotation is refused while an automatic rotation is due within this long.
const ROTATION_CONFLICT_WINDOW_MS: i64 = 20 * 60 * 1000;

/// New material made during a change, installed hot once the change is stored.
#[derive(Default)]
pub(super) struct NewMaterial(Vec<(u32, String, SecretBytes)>);

impl Inner {
    /// Makes a new version of key material: random, wrapped under the root key.
    fn new_version(
        &self,
        id: &KeyId,
        number: u32,
        created: Timestamp,
        rotation_type: Option<RotationType>,
        fresh: &mut NewMaterial,
    ) -> Result<KeyVersion> {
        let mut ikm = self.arena.alloc(KEY_LEN).map_err(secret_error)?;
        crypto::fill_random(ikm.expose_secret_mut()).map_err(|_| rng_failed())?;
        let wrapped = self.root.read().wrap(id, number, ikm.expose_secret())?;
        let mut material_id = [0u8; 32];
        crypto::fill_random(&mut material_id).map_err(|_| rng_failed())?;
        let material_id = hex::encode(material_id);
        fresh.0.push((number, material_id.clone(), ikm));
        Ok(KeyVersion { number, material_id, wrapped, created, rotation_type })
    }

    /// Adds a version and makes it current.
    fn rotate(
        &self,
        rec: &mut KeyRecord,
        created: Timestamp,
        kind: RotationType,
        fresh: &mut NewMaterial,
    ) -> Result<()> {
        let number = rec.current_version + 1;
        let version = self.new_version(&rec.id, number, created, Some(kind), fresh)?;
        rec.versions.push(version);
        rec.current_version = number;
        Ok(())
    }

    /// Catches up on automatic rotations of an enabled key: one version per date passed.
    pub(super) fn catch_up_rotations(
        &self,
        rec: &mut KeyRecord,
        now: Timestamp,
        fresh: &mut NewMaterial,
    ) -> Result<()> {
        if rec.state != KeyState::Enabled || !rec.rotation.enabled {
            return Ok(());
        }
        let period = rec.rotation.period_days;
        while let Some(next) = rec.rotation.next_rotation.filter(|n| *n <= now) {
            self.rotate(rec, next, RotationType::Automatic, fresh)?;
            let after = next.plus_days(period);
            rec.rotation.next_rotation = Some(after);
            if after == next {
                break; // the clock is at the end of time
            }
        }
        Ok(())
    }

    /// Writes a changed record (compare-and-set on its revision), publishes it and installs
    /// any new material hot. Called with the admin lock held.
    pub(super) fn commit(
        &self,
        live: &Arc<LiveKey>,
        old: &KeyRecord,
        mut rec: KeyRecord,
        fresh: NewMaterial,
    ) -> Result<()> {
        if rec == *old {
            return Ok(());
        }
        rec.revision = old.revision + 1;
        self.seal_key(&mut rec);
        // The store refuses the write if the root key was rotated since this engine read its
        // check value (another engine rotated it): material wrapped under the old root key must
        // never land in the store.
        let written = self.store.put_key(&rec, old.revision, &self.root_check.read());
        if let Err(e) = written {
            if matches!(e, Error::Conflict(_)) {
                // Another engine changed the key in the shared store: take its record, so the
                // caller's retry starts from it.
                self.take_stored(live)?;
            }
            return Err(e);
        }
        let current = rec.current_version;
        live.publish(rec);
        for (number, material_id, ikm) in fresh.0 {
            let fresh_vk = Arc::new(VersionKeys::new(live.id, number, material_id, ikm, self.messages_per_salt));
            // The hot path may have unwrapped this version already (after `publish`): keep
            // that copy, so the version is counted once.
            let (vk, inserted) = match live.versions.write().entry(number) {
                std::collections::hash_map::Entry::Occupied(e) => (Arc::clone(e.get()), false),
                std::collections::hash_map::Entry::Vacant(e) => (Arc::clone(e.insert(fresh_vk)), true),
            };
            if number == current {
                live.set_current(&vk);
            }
            if inserted {
                self.hot.admit(live, number);
            }
        }
        Ok(())
    }

    /// Takes the store's record of a key after a compare-and-set lost to another engine's
    /// change: publishes it, or forgets the key if the store no longer has it. Returns whether
    /// the key still exists. A record older than the one held (put back outside Trent, with a
    /// MAC that was valid once) is refused.
    pub(super) fn take_stored(&self, live: &Arc<LiveKey>) -> Result<bool> {
        match self.load_key(&live.id)? {
            Some(stored) => {
                let held = live.record().revision;
                if stored.revision < held {
                    return Err(super::record_mac::key_rolled_back(&live.id, stored.revision, held));
                }
                live.publish(stored);
                Ok(true)
            }
            None => {
                self.forget_key(live);
                Ok(false)
            }
        }
    }

    /// The common shape of a management operation on one key: resolve (key id or ARN),
    /// authorize, then change the record under the admin lock.
    fn modify<R>(
        &self,
        caller: &Caller,
        operation: &str,
        raw_key_id: &str,
        note: &mut AuditNote,
        change: impl FnOnce(&LiveKey, &mut KeyRecord, Timestamp, &mut NewMaterial) -> Result<R>,
    ) -> Result<R> {
        let now = self.clock.now();
        let live = self.resolve(raw_key_id, IdForms::KeyOnly, "keyId", true, &Now::fixed(now))?;
        note.key(&live);
        self.authorize(caller, operation, &live.arn)?;
        let _admin = self.admin.lock();
        if !self.keys.contains(&live.id) {
            return Err(self.key_not_found(&live.id));
        }
        let old = live.record();
        let mut rec = (*old).clone();
        let mut fresh = NewMaterial::default();
        let out = change(&live, &mut rec, now, &mut fresh)?;
        self.commit(&live, &old, rec, fresh)?;
        Ok(out)
    }

    /// Resolves a key for a read-only management operation.
    fn inspect(
        &self,
        caller: &Caller,
        operation: &str,
        raw_key_id: &str,
        forms: IdForms,
        note: &mut AuditNote,
    ) -> Result<(Arc<LiveKey>, Arc<KeyRecord>)> {
        let now = self.clock.now();
        let live = self.resolve(raw_key_id, forms, "keyId", true, &Now::fixed(now))?;
        note.key(&live);
        self.authorize(caller, operation, &live.arn)?;
        let rec = live.record();
        Ok((live, rec))
    }

    fn metadata(&self, live: &LiveKey, rec: &KeyRecord) -> KeyMetadata {
        let pending = rec.state == KeyState::PendingDeletion;
        KeyMetadata {
            aws_account_id: self.account.to_string(),
            key_id: live.id.to_string(),
            arn: live.arn.to_string(),
            creation_date: rec.creation_date,
            enabled: rec.state == KeyState::Enabled,
            description: rec.description.clone(),
            key_usage: rec.key_usage,
            key_state: rec.state,
            deletion_date: if pending { rec.deletion_date } else { None },
            origin: rec.origin,
            key_manager: rec.key_manager,
            customer_master_key_spec: rec.key_spec,
            key_spec: rec.key_spec,
            encryption_algorithms: vec![EncryptionAlgorithmSpec::SymmetricDefault],
            multi_region: rec.multi_region,
            multi_region_configuration: rec.multi_region.then(|| MultiRegionConfiguration {
                multi_region_key_type: "PRIMARY".into(),
                primary_key: MultiRegionKey { arn: live.arn.to_string(), region: self.region.to_string() },
                replica_keys: Vec::new(),
            }),
            // AWS shows the window only on a multi-Region primary waiting for its replicas
            // (`PendingReplicaDeletion`); a key `PendingDeletion` shows its `DeletionDate`.
            pending_deletion_window_in_days: if rec.state == KeyState::PendingReplicaDeletion {
                rec.pending_window_days
            } else {
                None
            },
            current_key_material_id: rec.current().map(|v| v.material_id.clone()),
        }
    }

    fn default_policy(&self) -> String {
        let root = self.account.root_arn(self.region.partition());
        format!(
            r#"{{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {{
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "{root}"
    }},
    "Action" : "kms:*",
    "Resource" : "*"
  }} ]
}}"#
        )
    }

    /// Number of aliases pointing to `id`.
    fn alias_count(&self, id: &KeyId) -> Result<usize> {
        Ok(self.load_aliases()?.iter().filter(|a| a.target == *id).count())
    }

    /// The key CreateAlias or UpdateAlias points an alias to (by key id or ARN), noted for
    /// the audit trail.
    fn alias_target_key(&self, raw: &str, now: Timestamp, note: &mut AuditNote) -> Result<Arc<LiveKey>> {
        let live = self.resolve(raw, IdForms::KeyOnly, "targetKeyId", false, &Now::fixed(now))?;
        note.key(&live);
        Ok(live)
    }

    /// The alias UpdateAlias or DeleteAlias (`operation`) is to change: it must exist, not be
    /// AWS's (`alias/aws/…`, which cannot be `done`), and the caller may act on its key.
    fn alias_to_change(&self, caller: &Caller, operation: &str, alias: &AliasName, done: &str) -> Result<AliasRecord> {
        let Some(existing) = self.load_alias(alias)? else { return Err(self.alias_not_found(alias)) };
        if alias.is_reserved() {
            return Err(Error::InvalidAliasName(format!("The alias {alias} is managed by AWS and cannot be {done}")));
        }
        self.authorize(caller, operation, &self.arn_of(&existing.target))?;
        Ok(existing)
    }

    /// Refuses a key that has as many aliases as a key may have.
    fn check_alias_room(&self, id: &KeyId) -> Result<()> {
        if self.alias_count(id)? >= MAX_ALIASES_PER_KEY {
            return Err(Error::LimitExceeded(format!("A key can have at most {MAX_ALIASES_PER_KEY} aliases")));
        }
        Ok(())
    }

    /// Points `alias` at `id` in the alias cache, once the store has it so.
    fn cache_alias(&self, alias: AliasName, id: KeyId) {
        self.change_aliases(|aliases| {
            aliases.insert(alias, id);
        });
    }

    fn alias_not_found(&self, alias: &AliasName) -> Error {
        Error::NotFound(format!("Alias {} is not found.", id::alias_arn(&self.region, &self.account, alias)))
    }
}

fn validate_policy(policy: &str) -> Result<()> {
    if policy.is_empty() || policy.len() > 131_072 {
        return Err(Error::validation(
            "policy",
            "",
            if policy.is_empty() {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 131072"
            },
        ));
    }
    if !policy.chars().all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}')) {
        return Err(Error::validation(
            "policy",
            "",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        ));
    }
    if policy.len() > MAX_POLICY_LEN {
        return Err(Error::LimitExceeded(format!("The key policy exceeds the maximum size of {MAX_POLICY_LEN} bytes")));
    }
    match serde_json::from_str::<serde_json::Value>(policy) {
        Ok(serde_json::Value::Object(doc)) if doc.get("Statement").is_some() => Ok(()),
        Ok(_) => Err(Error::MalformedPolicyDocument("The policy must be a JSON object with a Statement".into())),
        Err(e) => Err(Error::MalformedPolicyDocument(format!("The policy is not valid JSON: {e}"))),
    }
}

fn validate_description(description: &str) -> Result<()> {
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(Error::validation(
            "description",
            "",
            &format!("Member must have length less than or equal to {MAX_DESCRIPTION_LEN}"),
        ));
    }
    Ok(())
}

/// Checks a tag key: the model's length limit (`ValidationException` on `field`), then the
/// reserved `aws:` prefix, in any case (`TagException`).
fn validate_tag_key(key: &str, field: &str) -> Result<()> {
    let n = key.chars().count();
    if n == 0 || n > 128 {
        return Err(Error::validation(
            field,
            &format!("'{}'", id::truncate_for_message(key)),
            if n == 0 {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 128"
            },
        ));
    }
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return Err(Error::Tag(format!("Tag keys beginning with 'aws:' are reserved: '{key}'")));
    }
    Ok(())
}

/// Validates tags and merges them into `into` (later values overwrite), keeping the 50-tag
/// limit.
fn merge_tags(into: &mut BTreeMap<String, String>, tags: &[Tag]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for (i, t) in tags.iter().enumerate() {
        validate_tag_key(&t.tag_key, &format!("tags.{}.member.tagKey", i + 1))?;
        if t.tag_value.chars().count() > 256 {
            return Err(Error::validation(
                &format!("tags.{}.member.tagValue", i + 1),
                &format!("'{}'", id::truncate_for_message(&t.tag_value)),
                "Member must have length less than or equal to 256",
            ));
        }
        if !seen.insert(t.tag_key.as_str()) {
            return Err(Error::Tag(format!("Duplicate tag key in the request: '{}'", t.tag_key)));
        }
    }
    let mut merged = into.clone();
    for t in tags {
        merged.insert(t.tag_key.clone(), t.tag_value.clone());
    }
    if merged.len() > MAX_TAGS_PER_KEY {
        return Err(Error::LimitExceeded(format!("A key can have at most {MAX_TAGS_PER_KEY} tags")));
    }
    *into = merged;
    Ok(())
}

fn not_pending(live: &LiveKey, rec: &KeyRecord) -> Result<()> {
    if rec.state == KeyState::PendingDeletion {
        return Err(Error::InvalidState(format!("{} is pending deletion.", live.arn)));
    }
    Ok(())
}

fn symmetric_only(live: &LiveKey, rec: &KeyRecord) -> Result<()> {
    if rec.key_spec != KeySpec::SymmetricDefault || rec.origin != OriginType::AwsKms {
        return Err(Error::UnsupportedOperation(format!(
            "{} does not support rotation: only symmetric keys with AWS_KMS origin rotate",
            live.arn
        )));
    }
    Ok(())
}

fn check_period(days: Option<u32>) -> Result<u32> {
    let days = days.unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
    if !ROTATION_PERIOD_DAYS.contains(&days) {
        return Err(Error::validation(
            "rotationPeriodInDays",
            &format!("'{days}'"),
            if days < *ROTATION_PERIOD_DAYS.start() {
                "Member must have value greater than or equal to 90"
            } else {
                "Member must have value less than or equal to 2560"
            },
        ));
    }
    Ok(days)
}

impl Kms {
    /// CreateKey: a symmetric (`SYMMETRIC_DEFAULT`, `ENCRYPT_DECRYPT`) KMS key with its first
    /// version of material. Other key specs and origins give `UnsupportedOperationException`
    /// in this version.
    pub fn create_key(&self, caller: &Caller, req: &CreateKeyRequest) -> Result<CreateKeyResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "CreateKey", |note| {
            if req.key_spec.is_some() && req.customer_master_key_spec.is_some() {
                return Err(Error::Validation(
                    "You cannot specify both KeySpec and CustomerMasterKeySpec in the same request".into(),
                ));
            }
            let key_spec = req.key_spec.or(req.customer_master_key_spec).unwrap_or(KeySpec::SymmetricDefault);
            let key_usage = req.key_usage.unwrap_or(KeyUsage::EncryptDecrypt);
            let origin = req.origin.unwrap_or(OriginType::AwsKms);
            if let Some(desc) = &req.description {
                validate_description(desc)?;
            }
            if let Some(policy) = &req.policy {
                validate_policy(policy)?;
            }
            let mut tags = BTreeMap::new();
            merge_tags(&mut tags, &req.tags)?;
            if key_spec != KeySpec::SymmetricDefault {
                return Err(Error::UnsupportedOperation(format!(
                    "KeySpec {key_spec} is not supported by this version of Trent; only SYMMETRIC_DEFAULT keys can be created"
                )));
            }
            if key_usage != KeyUsage::EncryptDecrypt {
                return Err(Error::Validation(format!(
                    "KeyUsage {key_usage} is not compatible with KeySpec SYMMETRIC_DEFAULT"
                )));
            }
            if origin != OriginType::AwsKms {
                return Err(Error::UnsupportedOperation(format!(
                    "Origin {origin} is not supported by this version of Trent"
                )));
            }
            if req.custom_key_store_id.is_some() {
                return Err(Error::UnsupportedOperation("Custom key stores are not supported".into()));
            }
            inner.authorize(caller, "CreateKey", "*")?;
            let now = inner.clock.now();
            let mut random = [0u8; 16];
            crypto::fill_random(&mut random).map_err(|_| rng_failed())?;
            let multi_region = req.multi_region.unwrap_or(false);
            let id = if multi_region { KeyId::new_multi_region(random) } else { KeyId::new_random(random) };
            let mut fresh = NewMaterial::default();
            let first = inner.new_version(&id, 1, now, None, &mut fresh)?;
            let record = KeyRecord {
                id,
                revision: 0,
                creation_date: now,
                state: KeyState::Enabled,
                description: req.description.clone().unwrap_or_default(),
                key_usage,
                key_spec,
                origin,
                key_manager: KeyManager::Customer,
                multi_region,
                deletion_date: None,
                pending_window_days: None,
                policy: req.policy.clone().unwrap_or_else(|| inner.default_policy()),
                tags,
                rotation: RotationSchedule::default(),
                versions: vec![first],
                current_version: 1,
                mac: None,
            };
            let _admin = inner.admin.lock();
            let live = Arc::new(LiveKey::new(id, inner.arn_of(&id), record.clone()));
            note.key(&live);
            // Stored as revision 1; `commit` publishes it and installs the material.
            let placeholder = KeyRecord { revision: 0, versions: Vec::new(), ..record.clone() };
            inner.commit(&live, &placeholder, record, fresh)?;
            let metadata = inner.metadata(&live, &live.record());
            inner.keys.insert_if_absent(live);
            Ok(CreateKeyResponse { key_metadata: metadata })
        })
    }

    /// DescribeKey (any identifier form).
    pub fn describe_key(&self, caller: &Caller, req: &KeyIdRequest) -> Result<DescribeKeyResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "DescribeKey", |note| {
            check_grant_tokens(&req.grant_tokens)?;
            let (live, rec) = inner.inspect(caller, "DescribeKey", &req.key_id, IdForms::Any, note)?;
            Ok(DescribeKeyResponse { key_metadata: inner.metadata(&live, &rec) })
        })
    }

    /// ListKeys: the account's keys in this Region, ordered by key id, paged.
    pub fn list_keys(&self, caller: &Caller, req: &ListKeysRequest) -> Result<ListKeysResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "ListKeys", |_| {
            let limit = page_limit(req.limit, 100)?;
            let marker = parse_marker(req.marker.as_deref(), "k:")?;
            let mut after = match marker {
                Some(m) => Some(KeyId::parse(m).ok_or_else(|| Error::InvalidMarker("Invalid marker".into()))?),
                None => None,
            };
            inner.authorize(caller, "ListKeys", "*")?;
            let now = inner.clock.now();
            let mut keys = Vec::new();
            loop {
                let want = limit + 1 - keys.len();
                let page = inner.store.list_keys(after.as_ref(), want)?;
                let exhausted = page.len() < want;
                for id in page {
                    after = Some(id);
                    if inner.live_key(&id, &Now::fixed(now))?.is_some() {
                        keys.push(id);
                    }
                }
                if keys.len() > limit || exhausted {
                    break;
                }
            }
            let truncated = keys.len() > limit;
            keys.truncate(limit);
            Ok(ListKeysResponse {
                next_marker: if truncated { keys.last().map(|id| format!("k:{id}")) } else { None },
                keys: keys
                    .iter()
                    .map(|id| KeyListEntry { key_id: id.to_string(), key_arn: inner.arn_of(id) })
                    .collect(),
                truncated,
            })
        })
    }

    /// EnableKey: Disabled → Enabled (no-op when Enabled). A key whose automatic rotation
    /// came due while it was disabled rotates at once.
    pub fn enable_key(&self, caller: &Caller, req: &KeyIdRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "EnableKey", |note| {
            inner.modify(caller, "EnableKey", &req.key_id, note, |live, rec, now, fresh| {
                not_pending(live, rec)?;
                if rec.state == KeyState::Enabled {
                    return Ok(());
                }
                rec.state = KeyState::Enabled;
                if rec.rotation.enabled && rec.rotation.next_rotation.is_some_and(|n| n <= now) {
                    inner.rotate(rec, now, RotationType::Automatic, fresh)?;
                    rec.rotation.next_rotation = Some(now.plus_days(rec.rotation.period_days));
                }
                Ok(())
            })
        })
    }

    /// DisableKey: Enabled → Disabled (no-op when Disabled).
    pub fn disable_key(&self, caller: &Caller, req: &KeyIdRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "DisableKey", |note| {
            inner.modify(caller, "DisableKey", &req.key_id, note, |live, rec, _, _| {
                not_pending(live, rec)?;
                rec.state = KeyState::Disabled;
                Ok(())
            })
        })
    }

    /// ScheduleKeyDeletion: 7–30 days (default 30). The key is deleted — with all its
    /// versions and aliases — once the clock passes the deletion date.
    pub fn schedule_key_deletion(
        &self,
        caller: &Caller,
        req: &ScheduleKeyDeletionRequest,
    ) -> Result<ScheduleKeyDeletionResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "ScheduleKeyDeletion", |note| {
            let days = req.pending_window_in_days.unwrap_or(DEFAULT_PENDING_WINDOW_DAYS);
            if !PENDING_WINDOW_DAYS.contains(&days) {
                return Err(Error::validation(
                    "pendingWindowInDays",
                    &format!("'{days}'"),
                    if days < *PENDING_WINDOW_DAYS.start() {
                        "Member must have value greater than or equal to 7"
                    } else {
                        "Member must have value less than or equal to 30"
                    },
                ));
            }
            inner.modify(caller, "ScheduleKeyDeletion", &req.key_id, note, |live, rec, now, _| {
                not_pending(live, rec)?;
                let deletion_date = now.plus_days(days);
                rec.state = KeyState::PendingDeletion;
                rec.deletion_date = Some(deletion_date);
                rec.pending_window_days = Some(days);
                Ok(ScheduleKeyDeletionResponse {
                    key_id: live.arn.to_string(),
                    deletion_date,
                    key_state: KeyState::PendingDeletion,
                    pending_window_in_days: days,
                })
            })
        })
    }

    /// CancelKeyDeletion: PendingDeletion → Disabled.
    pub fn cancel_key_deletion(&self, caller: &Caller, req: &KeyIdRequest) -> Result<KeyIdResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "CancelKeyDeletion", |note| {
            inner.modify(caller, "CancelKeyDeletion", &req.key_id, note, |live, rec, _, _| {
                if rec.state != KeyState::PendingDeletion {
                    return Err(Error::InvalidState(format!("{} is not pending deletion.", live.arn)));
                }
                rec.state = KeyState::Disabled;
                rec.deletion_date = None;
                rec.pending_window_days = None;
                Ok(KeyIdResponse { key_id: live.arn.to_string() })
            })
        })
    }

    /// UpdateKeyDescription.
    pub fn update_key_description(&self, caller: &Caller, req: &UpdateKeyDescriptionRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "UpdateKeyDescription", |note| {
            validate_description(&req.description)?;
            inner.modify(caller, "UpdateKeyDescription", &req.key_id, note, |live, rec, _, _| {
                not_pending(live, rec)?;
                rec.description = req.description.clone();
                Ok(())
            })
        })
    }

    /// TagResource: adds tags or overwrites their values (at most 50 per key).
    pub fn tag_resource(&self, caller: &Caller, req: &TagResourceRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "TagResource", |note| {
            inner.modify(caller, "TagResource", &req.key_id, note, |live, rec, _, _| {
                not_pending(live, rec)?;
                merge_tags(&mut rec.tags, &req.tags)
            })
        })
    }

    /// UntagResource: removes tags by key (absent keys are ignored).
    pub fn untag_resource(&self, caller: &Caller, req: &UntagResourceRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "UntagResource", |note| {
            for (i, key) in req.tag_keys.iter().enumerate() {
                validate_tag_key(key, &format!("tagKeys.{}.member", i + 1))?;
            }
            inner.modify(caller, "UntagResource", &req.key_id, note, |live, rec, _, _| {
                not_pending(live, rec)?;
                for key in &req.tag_keys {
                    rec.tags.remove(key);
                }
                Ok(())
            })
        })
    }

    /// ListResourceTags: ordered by tag key, paged (default 50 per page).
    pub fn list_resource_tags(
        &self,
        caller: &Caller,
        req: &ListResourceTagsRequest,
    ) -> Result<ListResourceTagsResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "ListResourceTags", |note| {
            let limit = page_limit(req.limit, 50)?;
            let marker = parse_marker(req.marker.as_deref(), "t:")?;
            let (_, rec) = inner.inspect(caller, "ListResourceTags", &req.key_id, IdForms::KeyOnly, note)?;
            let iter = rec.tags.iter().filter(|(k, _)| marker.is_none_or(|m| k.as_str() > m));
            let mut tags: Vec<Tag> = iter.take(limit + 1).map(|(k, v)| Tag::new(k.clone(), v.clone())).collect();
            let truncated = tags.len() > limit;
            tags.truncate(limit);
            Ok(ListResourceTagsResponse {
                next_marker: if truncated { tags.last().map(|t| format!("t:{}", t.tag_key)) } else { None },
                tags,
                truncated,
            })
        })
    }

    /// ListKeyPolicies: a key has one key policy, `default`; paged like every list (default
    /// 100 per page), in any key state.
    pub fn list_key_policies(&self, caller: &Caller, req: &ListKeyPoliciesRequest) -> Result<ListKeyPoliciesResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "ListKeyPolicies", |note| {
            let _ = page_limit(req.limit, 100)?;
            let after = parse_marker(req.marker.as_deref(), "p:")?;
            inner.inspect(caller, "ListKeyPolicies", &req.key_id, IdForms::KeyOnly, note)?;
            let names = ["default"].into_iter().filter(|n| after.is_none_or(|m| *n > m));
            Ok(ListKeyPoliciesResponse {
                policy_names: names.map(String::from).collect(),
                next_marker: None,
                truncated: false,
            })
        })
    }

    /// CreateAlias: `alias/…` (not `alias/aws/…`) pointing to a key given by id or ARN.
    pub fn create_alias(&self, caller: &Caller, req: &AliasRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "CreateAlias", |note| {
            let alias = AliasName::parse_for_create(&req.alias_name)?;
            let now = inner.clock.now();
            let live = inner.alias_target_key(&req.target_key_id, now, note)?;
            inner.authorize(caller, "CreateAlias", &live.arn)?;
            let _admin = inner.admin.lock();
            not_pending(&live, &live.record())?;
            if inner.load_alias(&alias)?.is_some() {
                return Err(Error::AlreadyExists(format!(
                    "An alias with the name {} already exists",
                    id::alias_arn(&inner.region, &inner.account, &alias)
                )));
            }
            inner.check_alias_room(&live.id)?;
            inner.store.create_alias(&inner.seal_alias(AliasRecord {
                name: alias.clone(),
                target: live.id,
                creation_date: now,
                last_updated: now,
                mac: None,
            }))?;
            inner.cache_alias(alias, live.id);
            Ok(())
        })
    }

    /// UpdateAlias: points an existing alias at another key. The key it pointed to may be
    /// pending deletion; the new one may not.
    pub fn update_alias(&self, caller: &Caller, req: &AliasRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "UpdateAlias", |note| {
            let alias = AliasName::parse(&req.alias_name)?;
            let now = inner.clock.now();
            let live = inner.alias_target_key(&req.target_key_id, now, note)?;
            let existing = inner.alias_to_change(caller, "UpdateAlias", &alias, "updated")?;
            inner.authorize(caller, "UpdateAlias", &live.arn)?;
            let _admin = inner.admin.lock();
            not_pending(&live, &live.record())?;
            if existing.target != live.id {
                inner.check_alias_room(&live.id)?;
            }
            inner.store.put_alias(&inner.seal_alias(AliasRecord { target: live.id, last_updated: now, ..existing }))?;
            inner.cache_alias(alias, live.id);
            Ok(())
        })
    }

    /// DeleteAlias.
    pub fn delete_alias(&self, caller: &Caller, req: &DeleteAliasRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "DeleteAlias", |_| {
            let alias = AliasName::parse(&req.alias_name)?;
            let _admin = inner.admin.lock();
            inner.alias_to_change(caller, "DeleteAlias", &alias, "deleted")?;
            inner.store.delete_alias(&alias)?;
            inner.change_aliases(|aliases| {
                aliases.remove(&alias);
            });
            Ok(())
        })
    }

    /// ListAliases: ordered by alias name, paged; with `key_id`, only that key's aliases.
    pub fn list_aliases(&self, caller: &Caller, req: &ListAliasesRequest) -> Result<ListAliasesResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "ListAliases", |note| {
            let limit = page_limit(req.limit, 100)?;
            let marker = parse_marker(req.marker.as_deref(), "a:")?;
            let now = inner.clock.now();
            let only = match &req.key_id {
                Some(raw) => {
                    let live = inner.resolve(raw, IdForms::KeyOnly, "keyId", true, &Now::fixed(now))?;
                    note.key(&live);
                    Some(live.id)
                }
                None => None,
            };
            inner.authorize(caller, "ListAliases", "*")?;
            let mut live_targets = std::collections::HashMap::new();
            let mut out = Vec::new();
            for alias in inner.load_aliases()? {
                if only.is_some_and(|id| id != alias.target) || marker.is_some_and(|m| alias.name.as_str() <= m) {
                    continue;
                }
                let alive = match live_targets.get(&alias.target) {
                    Some(alive) => *alive,
                    None => {
                        let alive = inner.live_key(&alias.target, &Now::fixed(now))?.is_some();
                        live_targets.insert(alias.target, alive);
                        alive
                    }
                };
                if !alive {
                    continue;
                }
                out.push(AliasListEntry {
                    alias_arn: id::alias_arn(&inner.region, &inner.account, &alias.name),
                    alias_name: alias.name.to_string(),
                    target_key_id: alias.target.to_string(),
                    creation_date: alias.creation_date,
                    last_updated_date: alias.last_updated,
                });
                if out.len() > limit {
                    break;
                }
            }
            let truncated = out.len() > limit;
            out.truncate(limit);
            Ok(ListAliasesResponse {
                next_marker: if truncated { out.last().map(|a| format!("a:{}", a.alias_name)) } else { None },
                aliases: out,
                truncated,
            })
        })
    }

    /// EnableKeyRotation: every `RotationPeriodInDays` (90–2560, default 365) from now. On a
    /// key whose rotation is already enabled, a new period applies from the date the
    /// schedule last started (the next date moves by the difference).
    pub fn enable_key_rotation(&self, caller: &Caller, req: &EnableKeyRotationRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "EnableKeyRotation", |note| {
            let days = check_period(req.rotation_period_in_days)?;
            inner.modify(caller, "EnableKeyRotation", &req.key_id, note, |live, rec, now, fresh| {
                check_usable(live, rec)?;
                symmetric_only(live, rec)?;
                let next = match (rec.rotation.enabled, rec.rotation.next_rotation) {
                    (true, Some(next)) => {
                        let start = next.as_millis().saturating_sub(i64::from(rec.rotation.period_days) * DAY_MS);
                        Timestamp::from_millis(start).plus_days(days)
                    }
                    _ => now.plus_days(days),
                };
                rec.rotation.enabled = true;
                rec.rotation.period_days = days;
                rec.rotation.next_rotation = Some(next);
                inner.catch_up_rotations(rec, now, fresh)
            })
        })
    }

    /// DisableKeyRotation.
    pub fn disable_key_rotation(&self, caller: &Caller, req: &KeyIdRequest) -> Result<()> {
        let inner = &*self.inner;
        inner.audited(caller, "DisableKeyRotation", |note| {
            inner.modify(caller, "DisableKeyRotation", &req.key_id, note, |live, rec, _, _| {
                check_usable(live, rec)?;
                symmetric_only(live, rec)?;
                rec.rotation.enabled = false;
                rec.rotation.next_rotation = None;
                Ok(())
            })
        })
    }

    /// GetKeyRotationStatus.
    pub fn get_key_rotation_status(&self, caller: &Caller, req: &KeyIdRequest) -> Result<GetKeyRotationStatusResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "GetKeyRotationStatus", |note| {
            let (live, rec) = inner.inspect(caller, "GetKeyRotationStatus", &req.key_id, IdForms::KeyOnly, note)?;
            symmetric_only(&live, &rec)?;
            // AWS: false while the key is pending deletion; restored if the deletion is cancelled.
            let enabled = rec.rotation.enabled && rec.state != KeyState::PendingDeletion;
            Ok(GetKeyRotationStatusResponse {
                key_rotation_enabled: enabled,
                key_id: live.arn.to_string(),
                rotation_period_in_days: enabled.then_some(rec.rotation.period_days),
                next_rotation_date: if enabled { rec.rotation.next_rotation } else { None },
                on_demand_rotation_start_date: None,
            })
        })
    }

    /// RotateKeyOnDemand: a new version now, at most 25 times per key; the automatic
    /// schedule does not move. Refused with `ConflictException` while an automatic rotation
    /// is due within 20 minutes.
    pub fn rotate_key_on_demand(&self, caller: &Caller, req: &KeyIdRequest) -> Result<KeyIdResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "RotateKeyOnDemand", |note| {
            inner.modify(caller, "RotateKeyOnDemand", &req.key_id, note, |live, rec, now, fresh| {
                check_usable(live, rec)?;
                symmetric_only(live, rec)?;
                if rec.rotation.on_demand_count >= MAX_ON_DEMAND_ROTATIONS {
                    return Err(Error::LimitExceeded(format!(
                        "{} has reached the limit of {MAX_ON_DEMAND_ROTATIONS} on-demand rotations",
                        live.arn
                    )));
                }
                if rec.rotation.enabled
                    && rec
                        .rotation
                        .next_rotation
                        .is_some_and(|n| n.as_millis().saturating_sub(now.as_millis()) <= ROTATION_CONFLICT_WINDOW_MS)
                {
                    return Err(Error::Conflict(format!(
                        "{} has an automatic rotation due within 20 minutes; try again later",
                        live.arn
                    )));
                }
                inner.rotate(rec, now, RotationType::OnDemand, fresh)?;
                rec.rotation.on_demand_count += 1;
                Ok(KeyIdResponse { key_id: live.id.to_string() })
            })
        })
    }

    /// ListKeyRotations: the key's rotations, oldest first, paged; with
    /// `IncludeKeyMaterial = ALL_KEY_MATERIAL` also its first material.
    pub fn list_key_rotations(
        &self,
        caller: &Caller,
        req: &ListKeyRotationsRequest,
    ) -> Result<ListKeyRotationsResponse> {
        let inner = &*self.inner;
        inner.audited(caller, "ListKeyRotations", |note| {
            let limit = page_limit(req.limit, 100)?;
            let all = match req.include_key_material.as_deref() {
                None | Some("ROTATIONS_ONLY") => false,
                Some("ALL_KEY_MATERIAL") => true,
                Some(other) => {
                    return Err(Error::validation(
                        "includeKeyMaterial",
                        &format!("'{}'", id::truncate_for_message(other)),
                        "Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]",
                    ));
                }
            };
            let after: u32 = match parse_marker(req.marker.as_deref(), "r:")? {
                Some(m) => m.parse().map_err(|_| Error::InvalidMarker("Invalid marker".into()))?,
                None => 0,
            };
            let (live, rec) = inner.inspect(caller, "ListKeyRotations", &req.key_id, IdForms::KeyOnly, note)?;
            symmetric_only(&live, &rec)?;
            let mut rotations: Vec<RotationsListEntry> = rec
                .versions
                .iter()
                .filter(|v| v.number > after && (all || v.rotation_type.is_some()))
                .take(limit + 1)
                .map(|v| RotationsListEntry {
                    key_id: live.id.to_string(),
                    key_material_id: v.material_id.clone(),
                    key_material_state: if v.number == rec.current_version {
                        KeyMaterialState::Current
                    } else {
                        KeyMaterialState::NonCurrent
                    },
                    rotation_date: v.created,
                    rotation_type: v.rotation_type,
                })
                .collect();
            let truncated = rotations.len() > limit;
            rotations.truncate(limit);
            let last_number = rec
                .versions
                .iter()
                .filter(|v| Some(&v.material_id) == rotations.last().map(|r| &r.key_material_id))
                .map(|v| v.number)
                .next();
            Ok(ListKeyRotationsResponse {
                next_marker: if truncated { last_number.map(|n| format!("r:{n}")) } else { None },
                rotations,
                truncated,
            })
        })
    }
}
