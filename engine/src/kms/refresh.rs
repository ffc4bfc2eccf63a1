//! Seeing other engines' changes to a shared keystore.
//!
//! Every store change is also appended to the store's change feed in the same transaction
//! ([`Store::changes_since`](crate::store::Store::changes_since)). An engine on a shared store
//! (SQLite or PostgreSQL) runs one thread, `trent-refresh`, that polls the feed every
//! [`KmsBuilder::refresh_interval`](super::KmsBuilder::refresh_interval) and, for each entry,
//! re-reads the key (publishing the newer record, or dropping a deleted key) or forgets the
//! cached alias. So another engine's CreateKey is seen at once (a key not in the cache is read
//! from the store), and its rotation, DisableKey, ScheduleKeyDeletion, deletion or alias change
//! within one interval plus one poll. A key this engine then uses for the first time after
//! another engine's rotation unwraps the new version from the store.
//!
//! At every tick the thread also retries the rotations and deletions that came due while the
//! keystore was unreachable, which the hot path left to it (`Inner::postpone_due`).
//!
//! Compare-and-set on a key's revision keeps concurrent changes from different engines
//! consistent regardless of the delay: the loser of a race gets `ConflictException` and the
//! winner's record; an automatic rotation due on several engines is made once, by whichever
//! writes first, and the others take its record; a deletion that comes due deletes only the
//! revision its engine saw, so a CancelKeyDeletion committed meanwhile elsewhere wins.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::Inner;
use crate::error::{Error, Result};
use crate::id::KeyId;
use crate::store::Change;

/// The polling thread's handle; dropping it (with the engine) stops the thread.
#[derive(Default)]
pub(super) struct Refresher {
    state: Mutex<Option<(Arc<AtomicBool>, std::thread::Thread)>>,
}

impl Refresher {
    /// Whether the polling thread was started.
    pub(super) fn is_running(&self) -> bool {
        self.state.lock().is_some()
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.state.get_mut().take() {
            stop.store(true, Ordering::Release);
            thread.unpark();
        }
    }
}

/// Starts the polling thread. It holds the engine only weakly, so it never keeps it open.
pub(super) fn start(inner: &Arc<Inner>, every: Duration) -> Result<()> {
    let engine = Arc::downgrade(inner);
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let handle = std::thread::Builder::new()
        .name("trent-refresh".into())
        .spawn(move || {
            loop {
                std::thread::park_timeout(every);
                if stopped.load(Ordering::Acquire) {
                    return;
                }
                let Some(inner) = engine.upgrade() else { return };
                // A failed poll (the database briefly away) is retried at the next tick; the
                // cursor only moves past changes that were applied.
                if inner.apply_changes().is_ok() {
                    inner.polls.fetch_add(1, Ordering::AcqRel);
                }
                // So are rotations and deletions that came due while it was away.
                inner.retry_overdue();
            }
        })
        .map_err(|e| Error::Internal(format!("Cannot start the keystore refresh thread: {e}")))?;
    *inner.refresher.state.lock() = Some((stop, handle.thread().clone()));
    Ok(())
}

impl Inner {
    /// Applies the store's change feed since the last call to the caches.
    pub(super) fn apply_changes(&self) -> Result<()> {
        let _admin = self.admin.lock();
        let changes = self.store.changes_since(self.change_cursor.load(Ordering::Acquire))?;
        if !changes.complete {
            for live in self.keys.all() {
                self.forget_key(&live);
            }
            self.change_aliases(std::collections::HashMap::clear);
        }
        for change in &changes.changes {
            match change {
                Change::Key(id) => self.refresh_key(id)?,
                Change::Alias(name) => self.change_aliases(|aliases| {
                    aliases.remove(name);
                }),
            }
        }
        self.change_cursor.store(changes.cursor, Ordering::Release);
        Ok(())
    }

    /// Brings a cached key up to the store's record, or drops it if the store has none. A
    /// record older than the cached one is ignored (the cache keeps the newer); one that fails
    /// authentication drops the key too, so that every operation on it reads the store again
    /// and fails, saying why, rather than serving the tampered record or an outdated one.
    fn refresh_key(&self, id: &KeyId) -> Result<()> {
        let Some(live) = self.keys.get(id) else { return Ok(()) };
        match self.store.get_key(id)?.map(|record| self.authenticate_key(record)) {
            None | Some(Err(_)) => self.forget_key(&live),
            Some(Ok(record)) if record.revision > live.record().revision => live.publish(record),
            Some(Ok(_)) => {}
        }
        Ok(())
    }
}
