//! The audit trail: every operation reports one [`AuditEvent`] to an [`AuditSink`].
//!
//! An event says who did what to which key and how it ended — never plaintext, data keys or
//! key material. Sinks here: [`NoAudit`] (drops everything and tells the engine not to build
//! events at all, so it costs nothing on the hot path) and [`MemoryAudit`] (keeps events for
//! tests). Durable sinks (a hash-chained JSON-lines file, a table in the store) arrive with the
//! durable keystores.

use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;

use crate::clock::Timestamp;
use crate::context::EncryptionContext;

/// One operation, as the audit trail records it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// When the operation ran.
    pub time: Timestamp,
    /// The engine's Region.
    pub region: String,
    /// The engine's account.
    pub account: String,
    /// The caller's principal ARN.
    pub caller: String,
    /// The operation name, as on the wire (`"Encrypt"`).
    pub operation: &'static str,
    /// The ARN of the key the operation used, when there is one.
    pub key_arn: Option<String>,
    /// The key version used, for cryptographic operations.
    pub key_version: Option<u32>,
    /// The encryption context of the request (contexts are not secret; AWS logs them too).
    pub encryption_context: Option<EncryptionContext>,
    /// The engine-assigned request id.
    pub request_id: String,
    /// `None` on success, else the AWS exception name.
    pub error: Option<&'static str>,
}

/// Where audit events go.
pub trait AuditSink: Send + Sync + 'static {
    /// Records one event.
    fn record(&self, event: AuditEvent);

    /// Whether this sink wants events. When it returns `false` the engine does not build
    /// them.
    fn enabled(&self) -> bool {
        true
    }
}

/// A sink that drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _event: AuditEvent) {}

    fn enabled(&self) -> bool {
        false
    }
}

/// A sink that keeps every event in memory; clones share the events.
#[derive(Debug, Default, Clone)]
pub struct MemoryAudit(Arc<Mutex<Vec<AuditEvent>>>);

impl MemoryAudit {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events recorded so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.0.lock().clone()
    }

    /// Removes and returns the events recorded so far.
    pub fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.0.lock())
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, event: AuditEvent) {
        self.0.lock().push(event);
    }
}
