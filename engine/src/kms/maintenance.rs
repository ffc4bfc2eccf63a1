//! What the clock makes due: deletions at the end of their waiting period and automatic
//! rotations, carried out by the first operation that finds them due, retried in the
//! background when that fails, or all at once by [`Kms::run_maintenance`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::cache::LiveKey;
use super::lifecycle::NewMaterial;
use super::{Inner, Kms, Now};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::KeyId;
use crate::key::KeyState;

impl Kms {
    /// Carries out everything the clock has made due: deletes keys whose waiting period has
    /// passed and rotates keys whose rotation date has come. Operations do this for the keys
    /// they touch, so calling it is never needed for correctness; it keeps listings and the
    /// store tidy.
    ///
    /// A key whose keystore record fails authentication (see
    /// [`Kms::check_store_integrity`]) is passed over, and the first such failure returned once
    /// every other key has been seen to.
    pub fn run_maintenance(&self) -> Result<()> {
        self.inner.check_process()?;
        let now = self.inner.clock.now();
        let mut after = None;
        let mut first_failure = None;
        loop {
            let page = self.inner.store.list_keys(after.as_ref(), 1000)?;
            let Some(last) = page.last().copied() else { break };
            for id in &page {
                // A key deleted meanwhile is fine.
                if let Err(e) = self.inner.live_key_strict(id, now) {
                    first_failure.get_or_insert(e);
                }
            }
            after = Some(last);
        }
        first_failure.map_or(Ok(()), Err)
    }
}

impl Inner {
    /// The live key with this id, loading it from the store on a cache miss and carrying out
    /// whatever the clock has made due. `None` when there is no such key (any more).
    ///
    /// If carrying out what is due fails (the keystore is unreachable, say), the key is served
    /// from its cached record, as it was before the due date: old ciphertexts keep decrypting
    /// and Encrypt keeps using the current version until the rotation is stored. The due work
    /// is then left to the background ([`Inner::postpone_due`]).
    pub(super) fn live_key(&self, id: &KeyId, now: &Now<'_>) -> Result<Option<Arc<LiveKey>>> {
        let live = self.cached_or_loaded(id)?;
        match live {
            Some(live) if live.is_due(now) => match self.apply_due(&live, now.get()) {
                Err(_) if self.keys.contains(&live.id) => {
                    self.postpone_due(&live, now.get());
                    Ok(Some(live))
                }
                done => done,
            },
            other => Ok(other),
        }
    }

    /// Like [`Inner::live_key`], but a failure to carry out what is due is returned (for
    /// [`Kms::run_maintenance`], whose job that is).
    fn live_key_strict(&self, id: &KeyId, now: Timestamp) -> Result<Option<Arc<LiveKey>>> {
        match self.cached_or_loaded(id)? {
            Some(live) if live.record().next_event().is_some_and(|t| t <= now) => self.apply_due(&live, now),
            other => Ok(other),
        }
    }

    /// Stops the hot path from retrying a key's due work that just failed: with a refresh
    /// thread (a shared keystore), that thread retries it at every tick and operations never
    /// wait for the keystore; without one, the next operation after a backoff (1 s, doubling
    /// up to a minute) retries it.
    fn postpone_due(&self, live: &LiveKey, now: Timestamp) {
        let failures = live.due_failures.fetch_add(1, Ordering::AcqRel).min(6);
        let retry_at = if self.refresher.is_running() {
            self.overdue.lock().insert(live.id);
            i64::MAX
        } else {
            now.as_millis().saturating_add(1000 << failures)
        };
        live.next_event.store(retry_at, Ordering::Release);
    }

    /// Retries the due work the hot path postponed (see [`Inner::postpone_due`]); called by the
    /// refresh thread at every tick.
    pub(super) fn retry_overdue(&self) {
        let ids: Vec<KeyId> = self.overdue.lock().iter().copied().collect();
        if ids.is_empty() {
            return;
        }
        let now = self.clock.now();
        for id in ids {
            let done = match self.keys.get(&id) {
                None => true,
                Some(live) => self.live_key_strict(&live.id, now).is_ok(),
            };
            if done {
                self.overdue.lock().remove(&id);
            }
        }
    }

    /// Carries out what the clock made due for one key: deletion at the end of its waiting
    /// period, automatic rotations. Returns `None` if the key is gone.
    fn apply_due(&self, live: &Arc<LiveKey>, now: Timestamp) -> Result<Option<Arc<LiveKey>>> {
        let _admin = self.admin.lock();
        if !self.keys.contains(&live.id) {
            return Ok(None);
        }
        let old = live.record();
        if old.state == KeyState::PendingDeletion && old.deletion_date.is_some_and(|d| d <= now) {
            // The store deletes only the revision read here: if another engine changed the key
            // since this one last polled (a CancelKeyDeletion), it refuses, and its record wins.
            return match self.store.delete_key(&live.id, old.revision) {
                Ok(()) => {
                    self.forget_key(live);
                    Ok(None)
                }
                Err(Error::Conflict(_)) => Ok(self.take_stored(live)?.then(|| live.clone())),
                Err(e) => Err(e),
            };
        }
        let mut old = old;
        for attempt in 0.. {
            let mut rec = (*old).clone();
            let mut fresh = NewMaterial::default();
            self.catch_up_rotations(&mut rec, now, &mut fresh)?;
            match self.commit(live, &old, rec, fresh) {
                // Another engine stored the key first (most often the same rotation): `commit`
                // published the stored record; carry out what is still due on that one.
                Err(Error::Conflict(_)) if attempt < 3 && live.record().revision != old.revision => {
                    old = live.record();
                }
                Err(e) => return Err(e),
                Ok(()) => break,
            }
        }
        Ok(Some(live.clone()))
    }
}
