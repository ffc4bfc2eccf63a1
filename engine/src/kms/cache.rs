//! The key cache: live keys in a sharded table, each with its metadata snapshot and hot
//! versions, and the alias cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use arc_swap::ArcSwap;
use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use super::material::VersionKeys;
use super::{Inner, Now};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::id::{AliasName, KeyId};
use crate::key::KeyRecord;

/// A key as the engine holds it: the current metadata snapshot and its hot versions.
pub(crate) struct LiveKey {
    pub(super) id: KeyId,
    pub(super) arn: Arc<str>,
    /// The metadata and, when hot, the current version: one snapshot, so the hot path reads
    /// both with one lock-free load.
    pub(super) snapshot: ArcSwap<Snapshot>,
    pub(super) versions: RwLock<FxHashMap<u32, Arc<VersionKeys>>>,
    /// `record.next_event()` in milliseconds (`i64::MAX`: nothing scheduled), so the hot path
    /// reads the clock only for keys that have something scheduled; pushed back when carrying
    /// it out failed ([`Inner::postpone_due`]).
    pub(super) next_event: AtomicI64,
    /// Failures in a row to carry out what is due (for the retry backoff).
    pub(super) due_failures: AtomicU32,
}

/// What the hot path reads of a key at once.
pub(crate) struct Snapshot {
    pub(super) record: Arc<KeyRecord>,
    /// The current version when it is hot (always the one `record` names as current).
    pub(super) current: Option<Arc<VersionKeys>>,
}

/// Shards of the key cache, each an immutable map swapped whole on change: readers take no
/// lock and touch no shared counter; a writer copies one shard (1/64 of the keys).
pub(super) struct KeyTable {
    shards: Box<[ArcSwap<KeyShard>]>,
}

/// One shard of the key table.
type KeyShard = FxHashMap<KeyId, Arc<LiveKey>>;

const KEY_TABLE_SHARDS: usize = 64;

impl KeyTable {
    pub(super) fn new() -> Self {
        Self { shards: (0..KEY_TABLE_SHARDS).map(|_| ArcSwap::default()).collect() }
    }

    pub(super) fn shard(&self, id: &KeyId) -> &ArcSwap<KeyShard> {
        // Key ids are random: their last byte spreads keys evenly.
        &self.shards[usize::from(id.as_bytes()[15]) % KEY_TABLE_SHARDS]
    }

    pub(super) fn get(&self, id: &KeyId) -> Option<Arc<LiveKey>> {
        self.shard(id).load().get(id).cloned()
    }

    pub(super) fn contains(&self, id: &KeyId) -> bool {
        self.shard(id).load().contains_key(id)
    }

    /// Inserts `live` unless the id is present; returns what the table holds.
    pub(super) fn insert_if_absent(&self, live: Arc<LiveKey>) -> Arc<LiveKey> {
        let mut held = None;
        self.shard(&live.id).rcu(|map| {
            if let Some(existing) = map.get(&live.id) {
                held = Some(existing.clone());
                return Arc::clone(map);
            }
            held = Some(live.clone());
            let mut next = FxHashMap::clone(map);
            next.insert(live.id, live.clone());
            Arc::new(next)
        });
        held.unwrap_or(live)
    }

    /// Every cached key.
    pub(super) fn all(&self) -> Vec<Arc<LiveKey>> {
        self.shards.iter().flat_map(|shard| shard.load().values().cloned().collect::<Vec<_>>()).collect()
    }

    pub(super) fn remove(&self, id: &KeyId) {
        self.shard(id).rcu(|map| {
            let mut next = FxHashMap::clone(map);
            next.remove(id);
            next
        });
    }
}

impl LiveKey {
    pub(super) fn new(id: KeyId, arn: String, record: KeyRecord) -> Self {
        Self {
            id,
            arn: arn.into(),
            next_event: AtomicI64::new(next_event_ms(&record)),
            due_failures: AtomicU32::new(0),
            snapshot: ArcSwap::from_pointee(Snapshot { record: Arc::new(record), current: None }),
            versions: RwLock::new(FxHashMap::default()),
        }
    }

    /// The current metadata.
    pub(super) fn record(&self) -> Arc<KeyRecord> {
        Arc::clone(&self.snapshot.load().record)
    }

    /// Publishes a new record, keeping the hot current version if it is still current.
    pub(super) fn publish(&self, record: KeyRecord) {
        self.next_event.store(next_event_ms(&record), Ordering::Release);
        self.due_failures.store(0, Ordering::Release);
        let record = Arc::new(record);
        self.snapshot.rcu(|s| Snapshot {
            record: Arc::clone(&record),
            current: s.current.clone().filter(|c| c.number == record.current_version),
        });
    }

    /// Makes `vk` the hot current version, if the record still names it current and it is
    /// still the hot copy (an eviction between unwrapping it and this call must win, or the
    /// snapshot would keep a version the hot-version bound no longer counts).
    pub(super) fn set_current(&self, vk: &Arc<VersionKeys>) {
        let versions = self.versions.read();
        if !versions.get(&vk.number).is_some_and(|hot| Arc::ptr_eq(hot, vk)) {
            return;
        }
        self.snapshot.rcu(|s| Snapshot {
            record: Arc::clone(&s.record),
            current: if vk.number == s.record.current_version { Some(Arc::clone(vk)) } else { s.current.clone() },
        });
    }

    /// Forgets the hot current version if it is `vk` (all of them with `None`).
    pub(super) fn clear_current(&self, vk: Option<&Arc<VersionKeys>>) {
        self.snapshot.rcu(|s| Snapshot {
            record: Arc::clone(&s.record),
            current: s.current.clone().filter(|c| vk.is_some_and(|vk| !Arc::ptr_eq(c, vk))),
        });
    }

    /// Whether something scheduled for this key (deletion, rotation) is due.
    pub(super) fn is_due(&self, now: &Now<'_>) -> bool {
        let t = self.next_event.load(Ordering::Acquire);
        t != i64::MAX && t <= now.get().as_millis()
    }
}

fn next_event_ms(record: &KeyRecord) -> i64 {
    record.next_event().map_or(i64::MAX, Timestamp::as_millis)
}

impl Inner {
    /// Removes a deleted key from every cache.
    pub(super) fn forget_key(&self, live: &LiveKey) {
        self.keys.remove(&live.id);
        self.change_aliases(|aliases| aliases.retain(|_, target| *target != live.id));
        self.hot.forget(&live.id);
        live.versions.write().clear();
        live.clear_current(None);
    }

    /// The cached key, or the store's record of it made live.
    pub(super) fn cached_or_loaded(&self, id: &KeyId) -> Result<Option<Arc<LiveKey>>> {
        Ok(match self.keys.get(id) {
            Some(live) => Some(live),
            None => {
                let Some(record) = self.load_key(id)? else { return Ok(None) };
                Some(self.keys.insert_if_absent(Arc::new(LiveKey::new(*id, self.arn_of(id), record))))
            }
        })
    }

    /// Runs `f` on the live key `id`, borrowed from the key table without touching any
    /// shared counter (the hot path); falls back to [`Inner::live_key`] on a miss or when
    /// something is due. `None` when there is no such key.
    pub(super) fn with_live_key<R>(
        &self,
        id: &KeyId,
        now: &Now<'_>,
        f: impl FnOnce(&Arc<LiveKey>) -> Result<R>,
    ) -> Result<Option<R>> {
        {
            let shard = self.keys.shard(id).load();
            if let Some(live) = shard.get(id)
                && !live.is_due(now)
            {
                return f(live).map(Some);
            }
        }
        match self.live_key(id, now)? {
            Some(live) => f(&live).map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn alias_target(&self, alias: &AliasName) -> Result<Option<KeyId>> {
        if let Some(id) = self.aliases.read().get(alias) {
            return Ok(Some(*id));
        }
        let epoch = self.alias_epoch.load(Ordering::Acquire);
        let Some(record) = self.load_alias(alias)? else { return Ok(None) };
        let mut aliases = self.aliases.write();
        // An alias changed since the store was read: the read may be older than the change.
        if self.alias_epoch.load(Ordering::Acquire) == epoch {
            aliases.entry(alias.clone()).or_insert(record.target);
        }
        Ok(Some(record.target))
    }

    /// Changes the alias cache after the store has changed (see `alias_epoch`).
    pub(super) fn change_aliases(&self, change: impl FnOnce(&mut HashMap<AliasName, KeyId>)) {
        let mut aliases = self.aliases.write();
        self.alias_epoch.fetch_add(1, Ordering::Release);
        change(&mut aliases);
    }
}
