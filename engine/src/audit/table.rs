//! [`StoreAuditWriter`]: audit events into the keystore's `audit` table.

use std::io;
use std::sync::Arc;

use super::{AuditEvent, AuditWriter};
use crate::store::{AuditRow, Store};

/// Writes each batch of events to the keystore's `audit` table in one transaction
/// ([`Store::append_audit`]): the time, operation, key ARN and outcome as columns to query by,
/// and the whole event as JSON. Engines sharing a PostgreSQL store thus share one audit table.
pub struct StoreAuditWriter {
    store: Arc<dyn Store>,
    rows: Vec<AuditRow>,
}

impl StoreAuditWriter {
    /// A writer into `store`'s audit table.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, rows: Vec::new() }
    }
}

impl std::fmt::Debug for StoreAuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreAuditWriter").field("store", &self.store.backend_name()).finish_non_exhaustive()
    }
}

impl AuditWriter for StoreAuditWriter {
    fn write(&mut self, events: &[AuditEvent]) -> io::Result<()> {
        self.rows.clear();
        for event in events {
            self.rows.push(AuditRow {
                time: event.time.as_millis(),
                operation: event.operation.to_owned(),
                key_arn: event.key_arn.as_deref().map(str::to_owned),
                error: event.error.map(str::to_owned),
                event: serde_json::to_string(event).map_err(io::Error::other)?,
            });
        }
        self.store.append_audit(&self.rows).map_err(|e| io::Error::other(e.message().to_owned()))
    }
}
