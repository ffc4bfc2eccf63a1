//! [`ChannelAudit`]: events over a bounded channel to one writer thread.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use parking_lot::Mutex;

use super::{AuditEvent, AuditSink};

/// Stores batches of events for a [`ChannelAudit`]: a file
/// ([`JsonlFileWriter`](super::JsonlFileWriter)), a table in the store, memory
/// ([`MemoryAudit`](super::MemoryAudit)).
///
/// The writer lives on the [`ChannelAudit`]'s writer thread and is called from there only, one
/// batch at a time, in the order the events were recorded. It must not record audit events
/// itself (with [`OverflowPolicy::Block`] it would wait on its own channel), nor hold a
/// [`ChannelAudit`] handle (the last handle's drop waits for the writer thread).
///
/// A pair `(A, B)` of writers is a writer that hands every batch to both.
pub trait AuditWriter: Send + 'static {
    /// Stores `events` (never empty), in order.
    ///
    /// An error means the batch was not (entirely) stored; the [`ChannelAudit`] counts it
    /// ([`ChannelAudit::write_errors`], [`ChannelAudit::failed_events`]) and goes on with the
    /// next batch, so the writer should leave itself able to take one. It must not panic.
    fn write(&mut self, events: &[AuditEvent]) -> io::Result<()>;

    /// Makes everything written so far durable, if [`write`](Self::write) does not already.
    /// Called by [`ChannelAudit::flush`] and when the writer thread stops. The default does
    /// nothing.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: AuditWriter + ?Sized> AuditWriter for Box<W> {
    fn write(&mut self, events: &[AuditEvent]) -> io::Result<()> {
        (**self).write(events)
    }

    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

/// Both writers get every batch, even when the first fails; the batch fails if either does
/// (the first error is returned).
impl<A: AuditWriter, B: AuditWriter> AuditWriter for (A, B) {
    fn write(&mut self, events: &[AuditEvent]) -> io::Result<()> {
        let a = self.0.write(events);
        let b = self.1.write(events);
        a.and(b)
    }

    fn flush(&mut self) -> io::Result<()> {
        let a = self.0.flush();
        let b = self.1.flush();
        a.and(b)
    }
}

/// What [`ChannelAudit::record`](AuditSink::record) does when the channel is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OverflowPolicy {
    /// The caller waits until the writer thread makes room: no event is lost, but a stalled
    /// writer stalls every audited operation. The default.
    #[default]
    Block,
    /// The event is dropped and counted in [`ChannelAudit::dropped`]; callers never wait.
    Drop,
}

/// Settings of a [`ChannelAudit`]; [`spawn`](Self::spawn) starts it.
#[derive(Clone, Debug)]
pub struct ChannelAuditBuilder {
    capacity: usize,
    max_batch: usize,
    overflow: OverflowPolicy,
    poll_interval: Duration,
}

impl Default for ChannelAuditBuilder {
    fn default() -> Self {
        Self {
            capacity: ChannelAudit::DEFAULT_CAPACITY,
            max_batch: ChannelAudit::DEFAULT_MAX_BATCH,
            overflow: OverflowPolicy::Block,
            poll_interval: ChannelAudit::DEFAULT_POLL_INTERVAL,
        }
    }
}

impl ChannelAuditBuilder {
    /// How many events the channel holds (at least 1; default
    /// [`ChannelAudit::DEFAULT_CAPACITY`]). The channel's memory is allocated up front, about
    /// 200 bytes per event, plus what the events themselves point to.
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events.max(1);
        self
    }

    /// The most events handed to the writer in one call (at least 1; default
    /// [`ChannelAudit::DEFAULT_MAX_BATCH`]). The writer thread takes what is waiting, up to
    /// this many, and writes it as one batch — for [`JsonlFileWriter`](super::JsonlFileWriter),
    /// one `write` and one fsync.
    pub fn max_batch(mut self, events: usize) -> Self {
        self.max_batch = events.max(1);
        self
    }

    /// What a full channel does to callers (default [`OverflowPolicy::Block`]: they wait).
    pub fn overflow(mut self, policy: OverflowPolicy) -> Self {
        self.overflow = policy;
        self
    }

    /// How long the writer thread sleeps when it finds the channel empty (default
    /// [`ChannelAudit::DEFAULT_POLL_INTERVAL`]; at least 1 ms). Callers do not wake the writer
    /// for each event — that would cost them a system call — but only once the channel is a
    /// quarter full; so this bounds how long an event waits in a quiet channel before it is
    /// written.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Starts the writer thread (named `trent-audit`) with `writer`. Fails only if the thread
    /// cannot be spawned.
    pub fn spawn(self, writer: impl AuditWriter) -> io::Result<ChannelAudit> {
        let (tx, rx) = crossbeam_channel::bounded(self.capacity);
        let stats = Arc::new(Stats::default());
        let worker = Worker {
            writer,
            stats: Arc::clone(&stats),
            batch: Vec::with_capacity(self.max_batch.min(4096)),
            max_batch: self.max_batch,
            errors_since_flush: 0,
            failed_since_flush: 0,
            dirty: false,
        };
        let poll = self.poll_interval;
        let thread = std::thread::Builder::new().name("trent-audit".into()).spawn(move || worker.run(&rx, poll))?;
        Ok(ChannelAudit(Arc::new(Shared {
            tx: Some(tx),
            overflow: self.overflow,
            capacity: self.capacity,
            wake_at: (self.capacity / 4).max(1),
            writer: thread.thread().clone(),
            stats,
            thread: Some(thread),
        })))
    }
}

/// An [`AuditSink`] that takes events off the hot path: [`record`](AuditSink::record) sends the
/// event over a bounded channel — no serialization, no I/O, no allocation — and one writer
/// thread drains the channel in batches into an [`AuditWriter`].
///
/// A full channel makes callers wait by default ([`OverflowPolicy::Block`]); with
/// [`OverflowPolicy::Drop`] the event is dropped and counted instead.
///
/// Clones are handles to the same channel and thread, so keep one to call [`flush`](Self::flush)
/// and read the counters after handing another to the engine. When the last handle is dropped
/// (or [`close`](Self::close)d), the writer thread writes everything still in the channel,
/// flushes the writer and exits, and the drop waits for it: a clean shutdown loses nothing.
///
/// Write errors never panic and never reach callers: they are counted
/// ([`write_errors`](Self::write_errors), [`failed_events`](Self::failed_events)), the last
/// one is kept ([`last_error`](Self::last_error)) and reported by the next
/// [`flush`](Self::flush).
#[derive(Clone)]
pub struct ChannelAudit(Arc<Shared>);

/// What the handles share.
struct Shared {
    /// `Some` until the last handle goes (taken only by `shutdown`, which needs `&mut`).
    tx: Option<Sender<Msg>>,
    overflow: OverflowPolicy,
    capacity: usize,
    /// Callers wake the writer thread once this many events wait.
    wake_at: usize,
    writer: Thread,
    stats: Arc<Stats>,
    thread: Option<JoinHandle<()>>,
}

/// What goes over the channel.
enum Msg {
    Event(AuditEvent),
    /// Write everything before this, flush the writer and answer.
    Flush(Sender<io::Result<()>>),
}

/// Counters shared by the handles and the writer thread. Callers touch them only when they
/// drop an event.
#[derive(Default)]
struct Stats {
    written: AtomicU64,
    dropped: AtomicU64,
    write_errors: AtomicU64,
    failed_events: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Stats {
    fn error(&self, message: String) {
        self.write_errors.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock() = Some(message);
    }
}

impl ChannelAudit {
    /// The default channel capacity: 16384 events, about 3 MiB allocated up front — about
    /// 10 ms of events at 1.6 million operations per second, enough to ride out an fsync
    /// without making callers wait.
    pub const DEFAULT_CAPACITY: usize = 16_384;

    /// The default largest batch: 16384 events.
    pub const DEFAULT_MAX_BATCH: usize = 16_384;

    /// The default [poll interval](ChannelAuditBuilder::poll_interval): 10 ms.
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(10);

    /// Starts a sink with the default settings (capacity [`Self::DEFAULT_CAPACITY`],
    /// [`OverflowPolicy::Block`]) writing to `writer`.
    pub fn new(writer: impl AuditWriter) -> io::Result<Self> {
        Self::builder().spawn(writer)
    }

    /// Settings for a sink, to [`spawn`](ChannelAuditBuilder::spawn) with a writer.
    pub fn builder() -> ChannelAuditBuilder {
        ChannelAuditBuilder::default()
    }

    /// Waits until every event recorded (through any handle) before this call has been handed
    /// to the writer, then flushes the writer. Errors if a write or flush failed since the
    /// previous `flush` (naming how many events were lost) or if the writer thread has
    /// stopped. Waits for room in the channel whatever the [`OverflowPolicy`].
    pub fn flush(&self) -> io::Result<()> {
        let stopped = || io::Error::other("the audit writer thread has stopped");
        let Some(tx) = &self.0.tx else { return Err(stopped()) };
        let (ack_tx, ack_rx) = crossbeam_channel::bounded(1);
        tx.send(Msg::Flush(ack_tx)).map_err(|_| stopped())?;
        self.0.writer.unpark();
        ack_rx.recv().map_err(|_| stopped())?
    }

    /// Closes this handle. If it is the last one, the writer thread writes everything still in
    /// the channel, flushes the writer and exits, and this waits for it; otherwise this is a
    /// [`flush`](Self::flush) and the thread stops with the last handle. Errors as `flush`
    /// does, or if the final flush failed.
    pub fn close(self) -> io::Result<()> {
        let flushed = self.flush();
        match Arc::try_unwrap(self.0) {
            Ok(mut shared) => {
                let errors = shared.stats.write_errors.load(Ordering::Relaxed);
                shared.shutdown();
                if flushed.is_ok() && shared.stats.write_errors.load(Ordering::Relaxed) != errors {
                    let message = shared.stats.last_error.lock().clone().unwrap_or_default();
                    return Err(io::Error::other(format!("closing the audit trail failed: {message}")));
                }
                flushed
            }
            Err(_) => flushed,
        }
    }

    /// Events the writer has stored successfully.
    pub fn written(&self) -> u64 {
        self.0.stats.written.load(Ordering::Relaxed)
    }

    /// Events recorded but never queued: with [`OverflowPolicy::Drop`] because the channel was
    /// full, with either policy because the writer thread had stopped.
    pub fn dropped(&self) -> u64 {
        self.0.stats.dropped.load(Ordering::Relaxed)
    }

    /// Failed calls to the writer ([`AuditWriter::write`] or [`AuditWriter::flush`]), and a
    /// writer thread that panicked.
    pub fn write_errors(&self) -> u64 {
        self.0.stats.write_errors.load(Ordering::Relaxed)
    }

    /// Events in batches whose [`AuditWriter::write`] failed.
    pub fn failed_events(&self) -> u64 {
        self.0.stats.failed_events.load(Ordering::Relaxed)
    }

    /// The message of the last write error, if there was one. Events carry no secrets, and the
    /// writers here put no event content in their errors.
    pub fn last_error(&self) -> Option<String> {
        self.0.stats.last_error.lock().clone()
    }

    /// Events waiting in the channel right now.
    pub fn queued(&self) -> usize {
        self.0.tx.as_ref().map_or(0, Sender::len)
    }

    /// The channel's capacity, in events.
    pub fn capacity(&self) -> usize {
        self.0.capacity
    }

    /// The overflow policy.
    pub fn overflow(&self) -> OverflowPolicy {
        self.0.overflow
    }
}

impl AuditSink for ChannelAudit {
    #[inline]
    fn record(&self, event: AuditEvent) {
        let shared = &*self.0;
        // `tx` is `Some` for as long as a handle exists.
        let Some(tx) = &shared.tx else { return };
        let sent = match shared.overflow {
            OverflowPolicy::Block => tx.send(Msg::Event(event)).is_ok(),
            OverflowPolicy::Drop => tx.try_send(Msg::Event(event)).is_ok(),
        };
        if !sent {
            shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // The writer polls; wake it early only when the channel fills up (an atomic swap, and a
        // system call only if it is asleep).
        if tx.len() >= shared.wake_at {
            shared.writer.unpark();
        }
    }

    fn flush(&self) -> io::Result<()> {
        ChannelAudit::flush(self)
    }
}

impl fmt::Debug for ChannelAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelAudit")
            .field("capacity", &self.capacity())
            .field("overflow", &self.overflow())
            .field("queued", &self.queued())
            .field("written", &self.written())
            .field("dropped", &self.dropped())
            .field("write_errors", &self.write_errors())
            .finish()
    }
}

impl Shared {
    /// Disconnects the channel, so that the writer thread drains it and exits, and waits.
    fn shutdown(&mut self) {
        drop(self.tx.take());
        self.writer.unpark();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            self.stats.error("the audit writer thread panicked".into());
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The writer thread's state.
struct Worker<W> {
    writer: W,
    stats: Arc<Stats>,
    batch: Vec<AuditEvent>,
    max_batch: usize,
    /// Failed writer calls since the last flush, and the events they held.
    errors_since_flush: u64,
    failed_since_flush: u64,
    /// Events were written since the writer was last flushed.
    dirty: bool,
}

impl<W: AuditWriter> Worker<W> {
    /// Takes everything waiting (writing every `max_batch` events), writes the batch, sleeps
    /// `poll` (or until woken) when there is nothing, and again; until every sender is gone and
    /// the channel is empty.
    ///
    /// It polls rather than blocking in `recv`, because a blocked receiver must be woken by
    /// the sender — a system call on the caller's thread for every event that finds it
    /// asleep.
    fn run(mut self, rx: &Receiver<Msg>, poll: Duration) {
        loop {
            match rx.try_recv() {
                Ok(msg) => {
                    self.take(msg);
                    while let Ok(msg) = rx.try_recv() {
                        self.take(msg);
                    }
                    self.write_batch();
                }
                Err(TryRecvError::Empty) => {
                    // Idle: make what was written durable (group commit), then wait.
                    if self.dirty {
                        let _ = self.flush_writer();
                    }
                    std::thread::park_timeout(poll)
                }
                Err(TryRecvError::Disconnected) => break,
            }
        }
        let _ = self.flush_writer();
    }

    fn take(&mut self, msg: Msg) {
        match msg {
            Msg::Event(event) => {
                self.batch.push(event);
                if self.batch.len() >= self.max_batch {
                    self.write_batch();
                }
            }
            Msg::Flush(ack) => {
                self.write_batch();
                // The flusher may have given up waiting; nothing to do then.
                let _ = ack.send(self.flush());
            }
        }
    }

    fn write_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let n = self.batch.len() as u64;
        match self.writer.write(&self.batch) {
            Ok(()) => {
                self.stats.written.fetch_add(n, Ordering::Relaxed);
                self.dirty = true;
            }
            Err(e) => {
                self.stats.failed_events.fetch_add(n, Ordering::Relaxed);
                self.stats.error(format!("writing {n} audit events failed: {e}"));
                self.errors_since_flush += 1;
                self.failed_since_flush += n;
            }
        }
        self.batch.clear();
    }

    /// Flushes the writer, recording a failure in the stats.
    fn flush_writer(&mut self) -> io::Result<()> {
        self.dirty = false;
        let flushed = self.writer.flush();
        if let Err(e) = &flushed {
            self.stats.error(format!("flushing the audit writer failed: {e}"));
        }
        flushed
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = self.flush_writer();
        let (errors, failed) = (self.errors_since_flush, self.failed_since_flush);
        self.errors_since_flush = 0;
        self.failed_since_flush = 0;
        if errors > 0 {
            let last = self.stats.last_error.lock().clone().unwrap_or_default();
            return Err(io::Error::other(format!(
                "{failed} audit events were not written ({errors} failed writes since the last flush); last error: {last}"
            )));
        }
        flushed
    }
}
