#![allow(clippy::unwrap_used)]
//! A state-machine test of the key lifecycle: proptest generates a sequence of operations,
//! each runs against the engine and against a small reference model of the rules in
//! `engine/src/key.rs` (and AWS's, `/work/shared/reference/aws-kms.md`), and every result
//! is compared: `Ok` against the exact exception name, plaintexts and material ids.
//!
//! The model keeps, per key: state, deletion date and window, automatic rotation (enabled,
//! period, next date), every version (date, how it came to be, material id once seen) and
//! the on-demand count. It applies what the clock makes due eagerly, whenever the clock
//! moves; the engine does it lazily, when a key is touched. Half the cases compare every key
//! after every operation, the other half only the key an operation touched (and all keys at
//! the end), so that the engine's lazy catch-up across several clock moves is exercised too.
//!
//! Rules modelled:
//! - Enabled ⇄ Disabled by EnableKey / DisableKey (both idempotent); both refuse a key
//!   pending deletion (`KMSInvalidStateException`).
//! - ScheduleKeyDeletion (7–30 days, default 30; checked before the key is looked up):
//!   Enabled or Disabled → PendingDeletion; again on a pending key is
//!   `KMSInvalidStateException`. The key is gone once the clock reaches its DeletionDate.
//! - CancelKeyDeletion: PendingDeletion → Disabled; otherwise `KMSInvalidStateException`.
//! - EnableKeyRotation (90–2560 days, default 365; checked first), DisableKeyRotation and
//!   RotateKeyOnDemand need an Enabled key (`DisabledException`, `KMSInvalidStateException`).
//! - Automatic rotation: only while Enabled, one version per scheduled date passed, each
//!   dated on its date; re-enabling an overdue key rotates it at once and schedules the next
//!   date one period later. A new period on a key already rotating counts from the date its
//!   schedule last started.
//! - RotateKeyOnDemand: a version now, 25 per key (`LimitExceededException` after), refused
//!   with `ConflictException` while an automatic rotation is due within 20 minutes; it does
//!   not move the schedule.
//! - Encrypt needs an Enabled key; Decrypt of a blob whose key is Disabled is
//!   `DisabledException`, pending deletion `KMSInvalidStateException`, deleted
//!   `InvalidCiphertextException` (the engine's documented choice: the blob names a key that
//!   does not exist). A never-created key is `NotFoundException` everywhere.
//! - GetKeyRotationStatus reports rotation as disabled while the key is pending deletion
//!   (AWS: "While a KMS key is pending deletion, its key rotation status is false … If you
//!   cancel the deletion, the original key rotation status is restored").
//!
//! Failures are saved beside this file in `lifecycle_model.proptest-regressions` (commit it).

mod common;

use common::{START_MS, name};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use trent::clock::{DAY_MS, ManualClock, Timestamp};
use trent::key::{KeyMaterialState, KeyState, RotationType};
use trent::*;

const MINUTE_MS: i64 = 60_000;
/// RotateKeyOnDemand is refused while an automatic rotation is due within this long.
const CONFLICT_WINDOW_MS: i64 = 20 * MINUTE_MS;
const MAX_ON_DEMAND: u32 = 25;

const OK: &str = "Ok";
const NOT_FOUND: &str = "NotFoundException";
const DISABLED: &str = "DisabledException";
const INVALID_STATE: &str = "KMSInvalidStateException";
const VALIDATION: &str = "ValidationException";

// ---------------------------------------------------------------------------------------------
// Operations

/// Which key an operation is aimed at.
#[derive(Clone, Copy, Debug)]
enum KeySel {
    /// One of the keys created so far (deleted ones included).
    Created(Index),
    /// A well-formed key id that never existed.
    Missing,
}

#[derive(Clone, Debug)]
enum Op {
    CreateKey,
    EnableKey(KeySel),
    DisableKey(KeySel),
    ScheduleDeletion(KeySel, Option<u32>),
    CancelDeletion(KeySel),
    EnableRotation(KeySel, Option<u32>),
    DisableRotation(KeySel),
    /// RotateKeyOnDemand, `n` times in a row (to reach the limit of 25).
    RotateOnDemand(KeySel, u32),
    Encrypt(KeySel, u8),
    /// Decrypt one of the blobs made so far.
    Decrypt(Index),
    Describe(KeySel),
    AdvanceDays(u32),
    AdvanceMinutes(u32),
    /// Moves the clock to `minutes` before the key's next automatic rotation, if that is
    /// ahead (exercises rotation exactly at its date), then asks for an on-demand rotation
    /// (exercises the 20-minute conflict window).
    AdvanceNearRotation(KeySel, u32),
}

fn key_sel() -> impl Strategy<Value = KeySel> {
    prop_oneof![9 => any::<Index>().prop_map(KeySel::Created), 1 => Just(KeySel::Missing)]
}

fn op() -> impl Strategy<Value = Op> {
    let window = prop_oneof![
        6 => (7u32..=30).prop_map(Some),
        1 => Just(None),
        1 => prop_oneof![0u32..=6, 31u32..=400, Just(u32::MAX)].prop_map(Some),
    ];
    let period = prop_oneof![
        4 => (90u32..=400).prop_map(Some),
        1 => (90u32..=2560).prop_map(Some),
        1 => Just(None),
        1 => prop_oneof![0u32..=89, 2561u32..=10_000, Just(u32::MAX)].prop_map(Some),
    ];
    prop_oneof![
        2 => Just(Op::CreateKey),
        3 => key_sel().prop_map(Op::EnableKey),
        3 => key_sel().prop_map(Op::DisableKey),
        1 => (key_sel(), window).prop_map(|(k, d)| Op::ScheduleDeletion(k, d)),
        2 => key_sel().prop_map(Op::CancelDeletion),
        3 => (key_sel(), period).prop_map(|(k, p)| Op::EnableRotation(k, p)),
        1 => key_sel().prop_map(Op::DisableRotation),
        4 => (key_sel(), prop_oneof![3 => Just(1u32), 1 => 1u32..=30]).prop_map(|(k, n)| Op::RotateOnDemand(k, n)),
        4 => (key_sel(), any::<u8>()).prop_map(|(k, b)| Op::Encrypt(k, b)),
        4 => any::<Index>().prop_map(Op::Decrypt),
        1 => key_sel().prop_map(Op::Describe),
        4 => prop_oneof![0u32..=40, 0u32..=400].prop_map(Op::AdvanceDays),
        1 => (0u32..=3000).prop_map(Op::AdvanceMinutes),
        2 => (key_sel(), 0u32..=40).prop_map(|(k, m)| Op::AdvanceNearRotation(k, m)),
    ]
}

// ---------------------------------------------------------------------------------------------
// The model

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Enabled,
    Disabled,
    PendingDeletion,
    Deleted,
}

#[derive(Clone, Debug)]
struct Version {
    created: i64,
    kind: Option<RotationType>,
    /// Learnt from the engine the first time the version is listed; checked ever after.
    material_id: Option<String>,
}

#[derive(Clone, Debug)]
struct Key {
    id: String,
    arn: String,
    state: State,
    deletion_date: Option<i64>,
    window: Option<u32>,
    rotation_enabled: bool,
    period: u32,
    next_rotation: Option<i64>,
    versions: Vec<Version>,
    on_demand: u32,
}

#[derive(Clone, Debug)]
struct Blob {
    key: usize,
    /// Version number, from 1.
    version: usize,
    plaintext: Vec<u8>,
    context: EncryptionContext,
    blob: Vec<u8>,
}

struct Model {
    now: i64,
    keys: Vec<Key>,
    blobs: Vec<Blob>,
}

impl Key {
    fn rotate(&mut self, at: i64, kind: RotationType) {
        self.versions.push(Version { created: at, kind: Some(kind), material_id: None });
    }

    /// What the clock made due: deletion, or automatic rotations while Enabled.
    fn apply_due(&mut self, now: i64) {
        match self.state {
            State::PendingDeletion if self.deletion_date.is_some_and(|d| d <= now) => {
                self.state = State::Deleted;
            }
            State::Enabled => self.catch_up(now),
            _ => {}
        }
    }

    fn catch_up(&mut self, now: i64) {
        if !self.rotation_enabled {
            return;
        }
        while let Some(next) = self.next_rotation.filter(|n| *n <= now) {
            self.rotate(next, RotationType::Automatic);
            self.next_rotation = Some(next + i64::from(self.period) * DAY_MS);
        }
    }

    /// The state check of Encrypt, Decrypt and the rotation operations.
    fn usable(&self) -> std::result::Result<(), &'static str> {
        match self.state {
            State::Enabled => Ok(()),
            State::Disabled => Err(DISABLED),
            State::PendingDeletion => Err(INVALID_STATE),
            State::Deleted => Err(NOT_FOUND),
        }
    }

    fn key_state(&self) -> Option<KeyState> {
        match self.state {
            State::Enabled => Some(KeyState::Enabled),
            State::Disabled => Some(KeyState::Disabled),
            State::PendingDeletion => Some(KeyState::PendingDeletion),
            State::Deleted => None,
        }
    }
}

impl Model {
    fn advance_to(&mut self, now: i64) {
        assert!(now >= self.now);
        self.now = now;
        for key in &mut self.keys {
            key.apply_due(now);
        }
    }

    /// The key an operation names, if it exists (not deleted, not the missing one).
    fn resolve(&mut self, key: Option<usize>) -> std::result::Result<&mut Key, &'static str> {
        match key {
            Some(k) if self.keys[k].state != State::Deleted => Ok(&mut self.keys[k]),
            _ => Err(NOT_FOUND),
        }
    }

    /// The key, if it exists and its state lets it be used (Encrypt, rotations).
    fn usable(&mut self, key: Option<usize>) -> std::result::Result<&mut Key, &'static str> {
        let key = self.resolve(key)?;
        key.usable()?;
        Ok(key)
    }
}

fn check_window(days: Option<u32>) -> std::result::Result<u32, &'static str> {
    let days = days.unwrap_or(30);
    if (7..=30).contains(&days) { Ok(days) } else { Err(VALIDATION) }
}

fn check_period(days: Option<u32>) -> std::result::Result<u32, &'static str> {
    let days = days.unwrap_or(365);
    if (90..=2560).contains(&days) { Ok(days) } else { Err(VALIDATION) }
}

// ---------------------------------------------------------------------------------------------
// The harness: engine and model side by side

struct Harness {
    kms: Kms,
    me: Caller,
    clock: ManualClock,
    model: Model,
    missing_id: String,
    /// Compare every key after every operation (else only the key touched).
    check_all: bool,
}

type Check = std::result::Result<(), TestCaseError>;

impl Harness {
    fn new(check_all: bool) -> Self {
        let clock = ManualClock::new(Timestamp::from_millis(START_MS));
        let kms =
            common::builder().clock(clock.clone()).allow_unlocked_memory(true).max_hot_versions(8).open().unwrap();
        let me = kms.root_caller();
        let model = Model { now: START_MS, keys: Vec::new(), blobs: Vec::new() };
        let missing_id = "11111111-2222-4333-8444-555555555555".to_owned();
        Self { kms, me, clock, model, missing_id, check_all }
    }

    fn pick(&self, sel: KeySel) -> Option<usize> {
        match sel {
            KeySel::Created(i) if !self.model.keys.is_empty() => Some(i.index(self.model.keys.len())),
            _ => None,
        }
    }

    fn key_id(&self, key: Option<usize>) -> String {
        key.map_or_else(|| self.missing_id.clone(), |k| self.model.keys[k].id.clone())
    }

    /// An operation that takes only a key id: `call` on the engine and `model` on the model
    /// (the outcome it expects, making the operation's changes) must agree. Returns the key.
    fn key_op<T>(
        &mut self,
        op: &Op,
        sel: KeySel,
        call: impl FnOnce(&Kms, &Caller, &KeyIdRequest) -> trent::Result<T>,
        model: impl FnOnce(&mut Model, Option<usize>) -> &'static str,
    ) -> std::result::Result<Option<usize>, TestCaseError> {
        let k = self.pick(sel);
        let got = name(&call(&self.kms, &self.me, &KeyIdRequest::new(self.key_id(k))));
        let want = model(&mut self.model, k);
        prop_assert_eq!(got, want, "{:?}", op);
        Ok(k)
    }

    /// Runs one operation on both sides and compares the outcomes. Returns the key it
    /// touched, if any.
    fn step(&mut self, op: &Op) -> std::result::Result<Option<usize>, TestCaseError> {
        let me = self.me.clone();
        let kms = self.kms.clone();
        let now = self.model.now;
        match op {
            Op::CreateKey => {
                let meta = kms.create_key(&me, &CreateKeyRequest::default()).unwrap().key_metadata;
                prop_assert_eq!(meta.key_state, KeyState::Enabled);
                self.model.keys.push(Key {
                    id: meta.key_id,
                    arn: meta.arn,
                    state: State::Enabled,
                    deletion_date: None,
                    window: None,
                    rotation_enabled: false,
                    period: 0,
                    next_rotation: None,
                    versions: vec![Version { created: now, kind: None, material_id: meta.current_key_material_id }],
                    on_demand: 0,
                });
                Ok(Some(self.model.keys.len() - 1))
            }
            Op::EnableKey(sel) => self.key_op(op, *sel, Kms::enable_key, |model, k| match model.resolve(k) {
                Err(e) => e,
                Ok(key) => match key.state {
                    State::PendingDeletion => INVALID_STATE,
                    State::Enabled => OK,
                    _ => {
                        key.state = State::Enabled;
                        if key.rotation_enabled && key.next_rotation.is_some_and(|n| n <= now) {
                            key.rotate(now, RotationType::Automatic);
                            key.next_rotation = Some(now + i64::from(key.period) * DAY_MS);
                        }
                        OK
                    }
                },
            }),
            Op::DisableKey(sel) => self.key_op(op, *sel, Kms::disable_key, |model, k| match model.resolve(k) {
                Err(e) => e,
                Ok(key) if key.state == State::PendingDeletion => INVALID_STATE,
                Ok(key) => {
                    key.state = State::Disabled;
                    OK
                }
            }),
            Op::ScheduleDeletion(sel, days) => {
                let k = self.pick(*sel);
                let req = ScheduleKeyDeletionRequest { key_id: self.key_id(k), pending_window_in_days: *days };
                let r = kms.schedule_key_deletion(&me, &req);
                let want = match check_window(*days) {
                    Err(e) => e,
                    Ok(days) => match self.model.resolve(k) {
                        Err(e) => e,
                        Ok(key) if key.state == State::PendingDeletion => INVALID_STATE,
                        Ok(key) => {
                            key.state = State::PendingDeletion;
                            key.deletion_date = Some(now + i64::from(days) * DAY_MS);
                            key.window = Some(days);
                            OK
                        }
                    },
                };
                prop_assert_eq!(name(&r), want, "{:?}", op);
                if let (Ok(r), Some(k)) = (&r, k) {
                    let key = &self.model.keys[k];
                    prop_assert_eq!(&r.key_id, &key.arn);
                    prop_assert_eq!(Some(r.deletion_date.as_millis()), key.deletion_date);
                    prop_assert_eq!(r.key_state, KeyState::PendingDeletion);
                    prop_assert_eq!(Some(r.pending_window_in_days), key.window);
                }
                Ok(k)
            }
            Op::CancelDeletion(sel) => {
                self.key_op(op, *sel, Kms::cancel_key_deletion, |model, k| match model.resolve(k) {
                    Err(e) => e,
                    Ok(key) if key.state != State::PendingDeletion => INVALID_STATE,
                    Ok(key) => {
                        key.state = State::Disabled;
                        key.deletion_date = None;
                        key.window = None;
                        OK
                    }
                })
            }
            Op::EnableRotation(sel, period) => {
                let k = self.pick(*sel);
                let req = EnableKeyRotationRequest { key_id: self.key_id(k), rotation_period_in_days: *period };
                let got = name(&kms.enable_key_rotation(&me, &req));
                let want = match check_period(*period) {
                    Err(e) => e,
                    Ok(days) => match self.model.usable(k) {
                        Err(e) => e,
                        Ok(key) => {
                            let next = match (key.rotation_enabled, key.next_rotation) {
                                (true, Some(next)) => next - i64::from(key.period) * DAY_MS,
                                _ => now,
                            } + i64::from(days) * DAY_MS;
                            key.rotation_enabled = true;
                            key.period = days;
                            key.next_rotation = Some(next);
                            key.catch_up(now);
                            OK
                        }
                    },
                };
                prop_assert_eq!(got, want, "{:?}", op);
                Ok(k)
            }
            Op::DisableRotation(sel) => {
                self.key_op(op, *sel, Kms::disable_key_rotation, |model, k| match model.usable(k) {
                    Err(e) => e,
                    Ok(key) => {
                        key.rotation_enabled = false;
                        key.next_rotation = None;
                        OK
                    }
                })
            }
            Op::RotateOnDemand(sel, times) => {
                let k = self.pick(*sel);
                for _ in 0..*times {
                    let r = kms.rotate_key_on_demand(&me, &KeyIdRequest::new(self.key_id(k)));
                    let want = match self.model.usable(k) {
                        Err(e) => e,
                        Ok(key) if key.on_demand >= MAX_ON_DEMAND => "LimitExceededException",
                        Ok(key)
                            if key.rotation_enabled
                                && key.next_rotation.is_some_and(|n| n - now <= CONFLICT_WINDOW_MS) =>
                        {
                            "ConflictException"
                        }
                        Ok(key) => {
                            key.rotate(now, RotationType::OnDemand);
                            key.on_demand += 1;
                            OK
                        }
                    };
                    prop_assert_eq!(name(&r), want, "{:?}", op);
                    if let (Ok(r), Some(k)) = (&r, k) {
                        prop_assert_eq!(&r.key_id, &self.model.keys[k].id);
                    }
                }
                Ok(k)
            }
            Op::Encrypt(sel, byte) => {
                let k = self.pick(*sel);
                let plaintext = vec![*byte; 1 + usize::from(*byte % 7)];
                let context = EncryptionContext::from([("n".to_owned(), self.model.blobs.len().to_string())]);
                let req = EncryptRequest::new(self.key_id(k), plaintext.clone()).with_context(context.clone());
                let r = kms.encrypt(&me, &req);
                let want = self.model.usable(k).err().unwrap_or(OK);
                prop_assert_eq!(name(&r), want, "{:?}", op);
                if let (Ok(r), Some(k)) = (r, k) {
                    prop_assert_eq!(&r.key_id, &self.model.keys[k].arn);
                    let version = self.model.keys[k].versions.len();
                    self.model.blobs.push(Blob { key: k, version, plaintext, context, blob: r.ciphertext_blob });
                }
                Ok(k)
            }
            Op::Decrypt(i) => match self.model.blobs.len() {
                0 => Ok(None),
                n => self.decrypt(i.index(n)).map(Some),
            },
            Op::Describe(sel) => {
                self.key_op(op, *sel, Kms::describe_key, |model, k| model.resolve(k).err().unwrap_or(OK))
            }
            Op::AdvanceDays(days) => {
                self.clock.advance_days(*days);
                self.model.advance_to(now + i64::from(*days) * DAY_MS);
                Ok(None)
            }
            Op::AdvanceMinutes(minutes) => {
                self.clock.advance(std::time::Duration::from_secs(u64::from(*minutes) * 60));
                self.model.advance_to(now + i64::from(*minutes) * MINUTE_MS);
                Ok(None)
            }
            Op::AdvanceNearRotation(sel, minutes) => {
                let k = self.pick(*sel);
                let target = k
                    .map(|k| &self.model.keys[k])
                    .filter(|key| key.state != State::Deleted && key.rotation_enabled)
                    .and_then(|key| key.next_rotation)
                    .map(|next| next - i64::from(*minutes) * MINUTE_MS)
                    .filter(|t| *t > now);
                if let Some(t) = target {
                    self.clock.set(Timestamp::from_millis(t));
                    self.model.advance_to(t);
                }
                self.step(&Op::RotateOnDemand(*sel, 1))
            }
        }
    }

    /// Decrypts blob `i` and compares the outcome with the model's. Returns the blob's key.
    fn decrypt(&mut self, i: usize) -> std::result::Result<usize, TestCaseError> {
        let b = &self.model.blobs[i];
        let req = DecryptRequest::new(b.blob.clone()).with_context(b.context.clone());
        let r = self.kms.decrypt(&self.me, &req);
        let key = &self.model.keys[b.key];
        let want = match key.state {
            State::Deleted => "InvalidCiphertextException",
            _ => key.usable().err().unwrap_or(OK),
        };
        prop_assert_eq!(name(&r), want, "Decrypt of {:?}", b);
        if let Ok(r) = r {
            prop_assert_eq!(r.plaintext.expose_secret(), &b.plaintext[..]);
            prop_assert_eq!(&r.key_id, &key.arn);
            let material = key.versions[b.version - 1].material_id.as_ref();
            prop_assert_eq!(Some(&r.key_material_id), material, "blob of version {}", b.version);
        }
        Ok(b.key)
    }

    /// Compares everything the engine says about key `k` with the model: DescribeKey,
    /// GetKeyRotationStatus and ListKeyRotations (`ALL_KEY_MATERIAL`). Learns material ids
    /// the first time a version is listed.
    fn compare(&mut self, k: usize) -> Check {
        let (kms, me) = (&self.kms, &self.me);
        let key = &mut self.model.keys[k];
        let req = KeyIdRequest::new(&key.id);
        let described = kms.describe_key(me, &req);
        let status = kms.get_key_rotation_status(me, &req);
        let listed = common::all_rotations(kms, me, &key.id, 1000);
        let Some(state) = key.key_state() else {
            prop_assert_eq!(name(&described), NOT_FOUND, "DescribeKey of deleted key {}", k);
            prop_assert_eq!(name(&status), NOT_FOUND);
            prop_assert_eq!(name(&listed), NOT_FOUND);
            return Ok(());
        };
        let meta = described.unwrap().key_metadata;
        prop_assert_eq!(meta.key_state, state, "key {}", k);
        prop_assert_eq!(meta.enabled, key.state == State::Enabled);
        prop_assert_eq!(meta.deletion_date.map(Timestamp::as_millis), key.deletion_date);
        // Shown only in state PendingReplicaDeletion (no replicas here), as AWS does.
        prop_assert_eq!(meta.pending_deletion_window_in_days, None);

        let rotations = listed.unwrap();
        prop_assert_eq!(rotations.len(), key.versions.len(), "number of versions of key {}", k);
        let n = key.versions.len();
        for (i, (got, want)) in rotations.iter().zip(&mut key.versions).enumerate() {
            let current = i + 1 == n;
            prop_assert_eq!(&got.key_id, &key.id);
            prop_assert_eq!(got.rotation_date.as_millis(), want.created, "date of version {}", i + 1);
            prop_assert_eq!(got.rotation_type, want.kind, "type of version {}", i + 1);
            let state = if current { KeyMaterialState::Current } else { KeyMaterialState::NonCurrent };
            prop_assert_eq!(got.key_material_state, state);
            match &want.material_id {
                Some(id) => prop_assert_eq!(&got.key_material_id, id, "material of version {}", i + 1),
                None => want.material_id = Some(got.key_material_id.clone()),
            }
        }
        prop_assert_eq!(meta.current_key_material_id.as_ref(), key.versions.last().unwrap().material_id.as_ref());
        // The default listing (ROTATIONS_ONLY) is the same without the key's first material.
        let req = ListKeyRotationsRequest { key_id: key.id.clone(), limit: Some(1000), ..Default::default() };
        let only = kms.list_key_rotations(me, &req).unwrap();
        prop_assert!(!only.truncated);
        prop_assert_eq!(&only.rotations[..], &rotations[1..]);

        let status = status.unwrap();
        // AWS reports rotation as disabled while the key is pending deletion.
        let enabled = key.rotation_enabled && key.state != State::PendingDeletion;
        prop_assert_eq!(status.key_rotation_enabled, enabled, "rotation status of key {}", k);
        prop_assert_eq!(&status.key_id, &key.arn);
        prop_assert_eq!(status.rotation_period_in_days, enabled.then_some(key.period));
        prop_assert_eq!(status.next_rotation_date.map(Timestamp::as_millis), key.next_rotation.filter(|_| enabled));
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Each step is a round trip to the server on PostgreSQL, where 512 cases take minutes
        // per crypto provider; the same model runs 512 cases on the memory and SQLite stores.
        cases: if common::store_kind() == "postgres" { 128 } else { 512 },
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// The engine agrees with the model on every operation's outcome and, after every
    /// operation, on the state, deletion date, rotation schedule and versions of the keys.
    #[test]
    fn lifecycle_matches_model(ops in proptest::collection::vec(op(), 1..=100), check_all in any::<bool>()) {
        let mut h = Harness::new(check_all);
        for op in std::iter::once(&Op::CreateKey).chain(&ops) {
            let touched = h.step(op)?;
            if h.check_all {
                for k in 0..h.model.keys.len() {
                    h.compare(k)?;
                }
            } else if let Some(k) = touched {
                h.compare(k)?;
            }
        }
        for k in 0..h.model.keys.len() {
            h.compare(k)?;
        }
        // Every blob gives what the model says, after everything.
        for i in 0..h.model.blobs.len() {
            h.decrypt(i)?;
        }
    }
}
