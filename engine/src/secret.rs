//! Locked memory for key material, and wiped heap memory for plaintexts.
//!
//! Every secret the engine holds in the clear — the root key, unwrapped key versions, derived
//! sub-keys, expanded cipher key schedules, plaintext data keys on their way out — lives in an
//! [`Arena`]: a bounded pool of memory that is locked into RAM and excluded from core dumps,
//! handed out in fixed-size slots and wiped when a slot is released.
//!
//! # Design
//!
//! * **Chunks.** The arena maps memory in page-aligned chunks of 64 KiB (smaller when the
//!   budget is smaller; never less than one page and 4 KiB) with an anonymous private `mmap`.
//!   Each chunk is passed to [`memsec::mlock`], which applies `MADV_DONTDUMP` (Linux;
//!   `MADV_NOCORE` on the BSDs) and then `mlock`s it. Chunks stay mapped for the arena's whole
//!   life and are wiped, unlocked and unmapped only when the last [`Arena`] clone *and* the
//!   last secret allocated from it are gone (every secret holds a reference to the arena).
//! * **Slots.** A chunk is carved into equal slots of one power-of-two size class: 32, 64, …,
//!   4096 bytes ([`MAX_SECRET_LEN`]). Each class has a free list; a slot is aligned to its own
//!   size. Allocation pops a free slot, release pushes it back, both under one
//!   [`parking_lot::Mutex`] held for a few instructions; [`Arena::alloc_many`] takes the lock
//!   once for a whole batch. Apart from the slot itself nothing is allocated per secret (the
//!   free lists are reserved when a chunk is carved, so release never allocates). The first
//!   chunk is mapped and locked by [`Arena::new`], so a locking problem shows up at open.
//! * **Shared slots.** [`Arena::alloc_split`] hands out many small secrets (a batch of data
//!   keys) as adjacent pieces of one slot: a piece wipes its own bytes when dropped, without
//!   taking the lock, and the last piece wipes and releases the slot.
//! * **Wiping.** Free slots always contain zeros: fresh chunks are zero-filled by the kernel,
//!   and a released slot is overwritten with zeros ([`memsec::memzero`]) *before* it goes back
//!   on its free list. A new secret therefore starts zero-filled, and no secret outlives its
//!   owner in the arena. For [`Locked<T>`] the value's destructor runs first, then the slot is
//!   wiped. Whole chunks are wiped again before they are unmapped.
//! * **Budget.** The bytes of all mapped chunks never exceed [`ArenaConfig::budget_bytes`]
//!   (default 4 MiB; `RLIMIT_MEMLOCK` is often 8 MiB). When a size class needs a new chunk and
//!   the budget is spent, a chunk of another class whose slots are all free is re-carved;
//!   failing that the allocation returns [`SecretError::BudgetExceeded`]. Releasing secrets
//!   makes room again. The engine is expected to keep only hot key versions unwrapped here.
//! * **Locking failures.** If `mlock` fails (typically `RLIMIT_MEMLOCK` too low and no
//!   `CAP_IPC_LOCK`), the arena returns [`SecretError::LockFailed`], whose message names the
//!   limit and how to raise it — at [`Arena::new`] for the first chunk, at allocation for later
//!   ones. Running on unlocked memory is an explicit opt-in
//!   ([`ArenaConfig::allow_unlocked`]); such chunks are still excluded from core dumps where
//!   the OS allows and still wiped, and [`Arena::is_locked`] reports `false`.
//! * **No leaks through formatting.** [`SecretBytes`] and [`Locked`] print `[REDACTED]` in
//!   `Debug` and implement neither `Display`, `Clone` nor `PartialEq`; equality is
//!   [`SecretBytes::ct_eq`], constant-time through `subtle`. Error values never carry secret
//!   content.
//!
//! # What is protected and what is not
//!
//! Protected: the bytes inside the arena are not written to swap (while locked), not included
//! in core dumps (Linux, FreeBSD), not left behind after the secret is dropped, and not printed
//! by `{:?}`.
//!
//! Not protected:
//! * copies outside the arena: the caller's source buffer in [`Arena::alloc_copy`], the
//!   moved-from value of [`Arena::locked`] (a move is a `memcpy`; the old stack or heap copy
//!   is outside the arena's control — build large values in place or wipe the source), heap
//!   data *owned* by a `T` inside a [`Locked<T>`] (only the `T` itself sits in the slot),
//!   registers and stack temporaries of crypto routines, and anything a caller copies out of
//!   [`SecretBytes::expose_secret`];
//! * readers with the process's privileges (ptrace, `/proc/<pid>/mem`, root), hibernation
//!   images, and memory of a `fork`ed child: the child has a copy of every chunk, not locked
//!   (locks are not inherited). In a child an arena hands out nothing
//!   ([`SecretError::ForkedChild`]) and secrets from before the fork are wiped when dropped
//!   but their slots are not reused (the arena's lock may be held by a thread that exists only
//!   in the parent); see [`fork`];
//! * out-of-bounds bugs elsewhere in the process: slots are packed without guard pages (guard
//!   pages would cost pages per secret).
//!
//! # Secrets on the ordinary heap
//!
//! Plaintexts that are too large, too many or too short-lived for the arena (an Encrypt
//! request's plaintext, a JSON response body carrying a plaintext in base64, the buffers of a
//! streaming envelope decryption) live in a [`SecretVec`]: ordinary heap memory, not locked and
//! not excluded from core dumps, but wiped when dropped, and never left behind when it grows.
//! A program whose plaintexts pass through other libraries' buffers can install
//! [`WipingAllocator`] as its global allocator, which wipes every heap block before freeing it
//! (the `trent` CLI does).

use std::alloc::{GlobalAlloc, Layout, System};
use std::error::Error;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use subtle::ConstantTimeEq;

/// The largest secret, in bytes, that fits in one arena slot (also the largest size class).
pub const MAX_SECRET_LEN: usize = 4096;

/// Default [`ArenaConfig::budget_bytes`]: 4 MiB.
pub const DEFAULT_BUDGET_BYTES: usize = 4 << 20;

/// Preferred chunk size: 64 KiB.
const CHUNK_BYTES: usize = 64 << 10;

/// Smallest slot size (size class 0), as a shift.
const MIN_SLOT_SHIFT: u32 = 5;

/// Number of size classes: 32, 64, 128, 256, 512, 1024, 2048 and 4096 bytes.
const CLASSES: usize = (MAX_SECRET_LEN.trailing_zeros() - MIN_SLOT_SHIFT + 1) as usize;

/// Configuration of an [`Arena`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArenaConfig {
    /// Upper bound on the bytes of memory the arena maps (and locks) for secrets.
    /// Default [`DEFAULT_BUDGET_BYTES`] (4 MiB). Must be at least one page (4 KiB).
    pub budget_bytes: usize,
    /// Keep going with unlocked (but still wiped, dump-excluded) memory when `mlock` fails,
    /// instead of returning [`SecretError::LockFailed`]. Default `false`.
    pub allow_unlocked: bool,
}

impl Default for ArenaConfig {
    fn default() -> Self {
        Self { budget_bytes: DEFAULT_BUDGET_BYTES, allow_unlocked: false }
    }
}

/// Usage figures of an [`Arena`], from [`Arena::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArenaStats {
    /// The configured budget ([`ArenaConfig::budget_bytes`]).
    pub budget_bytes: usize,
    /// Bytes of chunks currently mapped (locked unless [`Arena::is_locked`] is `false`).
    pub reserved_bytes: usize,
    /// Slots currently held by live [`SecretBytes`] and [`Locked`] values.
    pub slots_in_use: usize,
}

/// Errors of the locked-memory arena. Messages never contain secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// Memory for secrets could not be locked into RAM, and unlocked memory was not allowed
    /// ([`ArenaConfig::allow_unlocked`]).
    LockFailed {
        /// Size of the `mlock` request that failed.
        bytes: usize,
        /// Bytes this arena had already locked successfully.
        locked_bytes: usize,
        /// The soft `RLIMIT_MEMLOCK` in bytes at the time of the failure; `None` if unlimited
        /// or unknown.
        rlimit_memlock: Option<u64>,
        /// The OS error code of the failed `mlock`, if there was one.
        os_error: Option<i32>,
    },
    /// Mapping more memory would exceed the arena's budget.
    BudgetExceeded {
        /// The configured budget ([`ArenaConfig::budget_bytes`]).
        budget_bytes: usize,
        /// Bytes already mapped by the arena.
        reserved_bytes: usize,
        /// Further bytes that would have been needed.
        requested_bytes: usize,
    },
    /// The secret does not fit in a slot.
    TooLarge {
        /// Requested size in bytes (for [`Arena::locked`]: the larger of the type's size and
        /// alignment).
        len: usize,
        /// The largest size a slot holds ([`MAX_SECRET_LEN`]).
        max: usize,
    },
    /// The arena was made in another process, of which this one is a `fork()`ed child: it
    /// hands out nothing here (its lock may be held by a thread the child does not have). Its
    /// secrets are still wiped when dropped, but their slots are not reused.
    ForkedChild,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::LockFailed { bytes, locked_bytes, rlimit_memlock, os_error } => {
                write!(f, "cannot lock memory for key material: mlock of {bytes} bytes failed")?;
                if let Some(code) = os_error {
                    write!(f, " ({})", io::Error::from_raw_os_error(code))?;
                }
                match rlimit_memlock {
                    Some(limit) => write!(f, "; RLIMIT_MEMLOCK is {limit} bytes")?,
                    None => write!(f, "; RLIMIT_MEMLOCK is unlimited or unknown")?,
                }
                write!(
                    f,
                    " and this arena already holds {locked_bytes} locked bytes; raise the limit \
                     (ulimit -l, LimitMEMLOCK= for systemd, --ulimit memlock= for Docker), \
                     lower the arena budget, or opt in to unlocked memory \
                     (ArenaConfig::allow_unlocked)"
                )
            }
            Self::BudgetExceeded { budget_bytes, reserved_bytes, requested_bytes } => write!(
                f,
                "locked-memory budget of {budget_bytes} bytes exceeded: {reserved_bytes} bytes \
                 are mapped for secrets and another {requested_bytes} bytes would be needed; \
                 release secrets or raise ArenaConfig::budget_bytes"
            ),
            Self::TooLarge { len, max } => write!(
                f,
                "secret of {len} bytes is too large for the locked-memory arena \
                 (at most {max} bytes per secret)"
            ),
            Self::ForkedChild => f.write_str(
                "the locked-memory arena belongs to the process this one was fork()ed from; \
                 make a new arena (open a new engine) in this process",
            ),
        }
    }
}

impl Error for SecretError {}

/// A bounded pool of locked, dump-excluded memory that hands out wiped-on-release slots.
///
/// Cloning is cheap (a reference count); all clones share one pool. See the
/// [module docs](self) for the design.
#[derive(Clone)]
pub struct Arena(Arc<Inner>);

impl Arena {
    /// Creates an arena and maps and locks its first chunk, so that a locking problem is
    /// reported here rather than at the first secret.
    ///
    /// # Errors
    /// [`SecretError::LockFailed`] if the chunk cannot be locked and `cfg.allow_unlocked` is
    /// `false`; [`SecretError::BudgetExceeded`] if the budget is smaller than one page.
    pub fn new(cfg: ArenaConfig) -> Result<Arena, SecretError> {
        let min_chunk = sys::page_size().max(MAX_SECRET_LEN);
        let chunk_bytes = if cfg.budget_bytes >= CHUNK_BYTES.max(min_chunk) {
            CHUNK_BYTES.max(min_chunk)
        } else {
            cfg.budget_bytes / min_chunk * min_chunk
        };
        if chunk_bytes == 0 {
            return Err(SecretError::BudgetExceeded {
                budget_bytes: cfg.budget_bytes,
                reserved_bytes: 0,
                requested_bytes: min_chunk,
            });
        }
        let inner = Inner {
            state: Mutex::new(State {
                chunks: Vec::new(),
                spare: Vec::new(),
                classes: std::array::from_fn(|_| SizeClass { free: Vec::new(), total: 0 }),
                in_use: 0,
            }),
            budget_bytes: cfg.budget_bytes,
            chunk_bytes,
            max_chunks: (cfg.budget_bytes / chunk_bytes).min(u32::MAX as usize),
            allow_unlocked: cfg.allow_unlocked,
            all_locked: AtomicBool::new(true),
            generation: fork::generation(),
        };
        {
            let mut st = inner.state.lock();
            let first = inner.map_chunk(&mut st)?;
            st.spare.push(first);
        }
        Ok(Arena(Arc::new(inner)))
    }

    /// Allocates a zero-filled secret of `len` bytes (`0..=`[`MAX_SECRET_LEN`]).
    ///
    /// # Errors
    /// [`SecretError::TooLarge`], [`SecretError::BudgetExceeded`], or
    /// [`SecretError::LockFailed`] when a new chunk cannot be locked.
    pub fn alloc(&self, len: usize) -> Result<SecretBytes, SecretError> {
        let class = class_for(len)?;
        let slot = self.take_slot(class)?;
        Ok(SecretBytes::whole(slot, len))
    }

    /// Allocates a secret holding a copy of `src`. Wiping `src` is the caller's business.
    ///
    /// # Errors
    /// As [`Arena::alloc`].
    pub fn alloc_copy(&self, src: &[u8]) -> Result<SecretBytes, SecretError> {
        let mut secret = self.alloc(src.len())?;
        secret.expose_secret_mut().copy_from_slice(src);
        Ok(secret)
    }

    /// Allocates `n` zero-filled secrets of `len` bytes each, taking the arena lock once.
    /// Either all `n` are returned or none.
    ///
    /// # Errors
    /// As [`Arena::alloc`].
    pub fn alloc_many(&self, n: usize, len: usize) -> Result<Vec<SecretBytes>, SecretError> {
        let class = class_for(len)?;
        let size = class_size(class);
        let max_slots = self.0.max_chunks * (self.0.chunk_bytes / size);
        if n > max_slots {
            return Err(SecretError::BudgetExceeded {
                budget_bytes: self.0.budget_bytes,
                reserved_bytes: self.stats().reserved_bytes,
                requested_bytes: n.saturating_mul(size),
            });
        }
        self.0.check_process()?;
        let mut out = Vec::with_capacity(n);
        let mut st = self.0.state.lock();
        while st.classes[class].free.len() < n {
            self.0.grow(&mut st, class)?;
        }
        for _ in 0..n {
            let slot = self.0.pop(&mut st, class)?;
            out.push(SecretBytes::whole(Slot::new(slot, class, &self.0), len));
        }
        Ok(out)
    }

    /// Allocates `n` zero-filled secrets of `len` bytes each as adjacent pieces of shared
    /// slots (up to [`MAX_SECRET_LEN`] bytes of pieces per slot), taking the arena lock once
    /// per slot.
    ///
    /// For batches of small secrets (data keys): a piece wipes its own bytes when dropped and
    /// the last piece of a slot gives the slot back, so releasing a piece takes no lock. A
    /// shared slot counts once in [`ArenaStats::slots_in_use`]. Either all `n` are returned or
    /// none.
    ///
    /// # Errors
    /// As [`Arena::alloc`]; [`SecretError::TooLarge`] if `len` is 0 or above
    /// [`MAX_SECRET_LEN`].
    pub fn alloc_split(&self, n: usize, len: usize) -> Result<Vec<SecretBytes>, SecretError> {
        if len == 0 {
            return Err(SecretError::TooLarge { len, max: MAX_SECRET_LEN });
        }
        let per_slot = MAX_SECRET_LEN / len.min(MAX_SECRET_LEN);
        if per_slot == 0 || len > MAX_SECRET_LEN {
            return Err(SecretError::TooLarge { len, max: MAX_SECRET_LEN });
        }
        let mut out = Vec::with_capacity(n);
        let mut left = n;
        while left > 0 {
            let pieces = left.min(per_slot);
            let slot = Arc::new(self.take_slot(class_for(pieces * len)?)?);
            for i in 0..pieces {
                // SAFETY: `i * len + len <= pieces * len`, within the slot's class size, so the
                // offset stays inside the slot's mapped bytes.
                let ptr = unsafe { NonNull::new_unchecked(slot.ptr.as_ptr().add(i * len)) };
                out.push(SecretBytes { ptr, len, owner: Owner::Shared(Arc::clone(&slot)) });
            }
            left -= pieces;
        }
        Ok(out)
    }

    /// Moves `value` into a slot of locked memory. Its destructor runs, and the slot is wiped,
    /// when the returned [`Locked`] is dropped.
    ///
    /// The moved-from copy of `value` (on the caller's stack or wherever it was) is outside
    /// the arena's control and is not wiped.
    ///
    /// # Errors
    /// [`SecretError::TooLarge`] if `T`'s size or alignment exceeds [`MAX_SECRET_LEN`];
    /// otherwise as [`Arena::alloc`].
    pub fn locked<T: Send + Sync>(&self, value: T) -> Result<Locked<T>, SecretError> {
        let class = class_for(size_of::<T>().max(align_of::<T>()))?;
        let slot = self.take_slot(class)?;
        let ptr = slot.ptr.cast::<T>();
        debug_assert!(ptr.is_aligned());
        // SAFETY: the slot is `class_size(class) >= size_of::<T>()` bytes of mapped, writable
        // memory owned by `slot` alone; slots sit at multiples of their power-of-two size in a
        // chunk aligned to at least `MAX_SECRET_LEN`, so it is aligned to
        // `class_size(class) >= align_of::<T>()`; it holds no `T` yet, so nothing that needs
        // dropping is overwritten.
        unsafe { ptr.as_ptr().write(value) };
        Ok(Locked { slot, _owns: PhantomData })
    }

    /// The configured budget ([`ArenaConfig::budget_bytes`]).
    pub fn budget_bytes(&self) -> usize {
        self.0.budget_bytes
    }

    /// The bytes of slots a secret of `len` bytes takes ([`Arena::alloc`]); `None` above
    /// [`MAX_SECRET_LEN`].
    pub fn slot_bytes(len: usize) -> Option<usize> {
        class_for(len).ok().map(class_size)
    }

    /// The bytes of slots `n` secrets of `len` bytes take as pieces of shared slots
    /// ([`Arena::alloc_split`]); `None` if `len` is 0 or above [`MAX_SECRET_LEN`].
    pub fn split_bytes(n: usize, len: usize) -> Option<usize> {
        if len == 0 || len > MAX_SECRET_LEN {
            return None;
        }
        let per_slot = MAX_SECRET_LEN / len;
        let full = n / per_slot;
        let rest = n % per_slot;
        let last = if rest == 0 { 0 } else { class_size(class_for(rest * len).ok()?) };
        full.checked_mul(class_size(class_for(per_slot * len).ok()?))?.checked_add(last)
    }

    /// `false` only if [`ArenaConfig::allow_unlocked`] was set and locking some chunk failed.
    pub fn is_locked(&self) -> bool {
        self.0.all_locked.load(Ordering::Relaxed)
    }

    /// Current usage figures. In a `fork()`ed child (see [`SecretError::ForkedChild`]) only
    /// the budget, unless the arena's lock happens to be free.
    pub fn stats(&self) -> ArenaStats {
        let st = if self.0.check_process().is_ok() { Some(self.0.state.lock()) } else { self.0.state.try_lock() };
        let Some(st) = st else {
            return ArenaStats { budget_bytes: self.0.budget_bytes, reserved_bytes: 0, slots_in_use: 0 };
        };
        ArenaStats {
            budget_bytes: self.0.budget_bytes,
            reserved_bytes: st.chunks.len() * self.0.chunk_bytes,
            slots_in_use: st.in_use,
        }
    }

    fn take_slot(&self, class: usize) -> Result<Slot, SecretError> {
        self.0.check_process()?;
        let free = {
            let mut st = self.0.state.lock();
            self.0.pop(&mut st, class)?
        };
        Ok(Slot::new(free, class, &self.0))
    }
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("Arena")
            .field("budget_bytes", &stats.budget_bytes)
            .field("reserved_bytes", &stats.reserved_bytes)
            .field("slots_in_use", &stats.slots_in_use)
            .field("locked", &self.is_locked())
            .finish()
    }
}

/// Overwrites `buf` with zeros in a way the compiler cannot remove: for a secret that had to
/// pass through ordinary memory (a key handed in by value) once it has been copied into the
/// arena.
pub fn wipe(buf: &mut [u8]) {
    // SAFETY: `buf` is a valid, writable slice of `buf.len()` bytes.
    unsafe { memsec::memzero(buf.as_mut_ptr(), buf.len()) }
}

/// Telling a `fork()`ed child from the process that forked it.
///
/// A child of `fork()` starts as a copy of its parent's memory: every counter, salt, cached
/// key and lock state, but only the thread that called `fork()`. Anything that must never
/// repeat across processes (a nonce under one key), or that belongs to threads and
/// connections the child does not have, has to notice that it now runs in a child. The
/// [`generation`](fork::generation) of a process answers that: it is the same for the whole life of a process
/// and differs in every child from the value its parent had when it forked, whoever called
/// `fork()` and however (the C library's `fork`, Python's `os.fork`, `multiprocessing`,
/// a raw `clone` system call).
///
/// Two mechanisms, so that either suffices:
///
/// * the generation is read from a page marked `MADV_WIPEONFORK` (Linux 4.14 and later): the
///   kernel hands every child a zeroed copy of it, and a zero is replaced by a fresh
///   generation at the next read, without any lock (a lock could be held by a thread that
///   exists only in the parent);
/// * a `pthread_atfork` child handler, registered at the first read, stores a fresh
///   generation in the child before `fork()` returns there. It covers systems without
///   `MADV_WIPEONFORK`; there, a child made by a raw `clone` system call that bypasses the C
///   library is not detected.
///
/// Reading the generation costs two relaxed loads; the engine does it on every operation and
/// on every nonce reservation.
pub mod fork {
    use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

    /// The last generation handed out in this process (copied into children, so a child's
    /// next one is above every generation its parent had).
    static ISSUED: AtomicU64 = AtomicU64::new(0);
    /// Where the current generation is read from: a wipe-on-fork page, or [`FALLBACK`].
    /// Null until the first read; set once and never unmapped.
    static WORD: AtomicPtr<AtomicU64> = AtomicPtr::new(std::ptr::null_mut());
    /// The generation's word where no wipe-on-fork page could be had.
    static FALLBACK: AtomicU64 = AtomicU64::new(0);

    /// This process's fork generation: never 0, constant for the life of the process, and
    /// different in a `fork()`ed child from its parent's (see the [module docs](self)).
    #[inline]
    pub fn generation() -> u64 {
        let word = WORD.load(Ordering::Acquire);
        if !word.is_null() {
            // SAFETY: `WORD` is only ever set to `FALLBACK` or to a page that `setup` mapped
            // and never unmaps, both valid for reads for the rest of the process.
            let g = unsafe { &*word }.load(Ordering::Acquire);
            if g != 0 {
                return g;
            }
        }
        renew()
    }

    /// The first read in a process, or the first read in a child whose wipe-on-fork page the
    /// kernel zeroed (and no atfork handler refilled): installs a fresh generation. Takes no
    /// lock; racing threads agree on whichever value lands first.
    #[cold]
    fn renew() -> u64 {
        let word = word();
        loop {
            let g = word.load(Ordering::Acquire);
            if g != 0 {
                return g;
            }
            let _ = word.compare_exchange(0, next(), Ordering::AcqRel, Ordering::Acquire);
        }
    }

    fn next() -> u64 {
        ISSUED.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The generation's word, set up at the first call. Racing first calls each prepare a
    /// word and the first to publish wins (no lock, so a child forked in the middle of this
    /// can never wait for a thread it does not have).
    fn word() -> &'static AtomicU64 {
        let current = WORD.load(Ordering::Acquire);
        if !current.is_null() {
            // SAFETY: as in `generation`.
            return unsafe { &*current };
        }
        register_child_handler();
        let mine = sys::wipe_on_fork_word().unwrap_or(&FALLBACK);
        let mine_ptr = std::ptr::from_ref(mine).cast_mut();
        match WORD.compare_exchange(std::ptr::null_mut(), mine_ptr, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => mine,
            Err(winner) => {
                sys::release_word(mine);
                // SAFETY: as in `generation`.
                unsafe { &*winner }
            }
        }
    }

    /// Runs in a `fork()`ed child before `fork()` returns there, with one thread: stores a
    /// fresh generation. Only atomic operations, which are async-signal-safe.
    extern "C" fn in_child() {
        let word = WORD.load(Ordering::Acquire);
        if !word.is_null() {
            // SAFETY: as in `generation`.
            unsafe { &*word }.store(next(), Ordering::Release);
        }
    }

    /// Registers [`in_child`] (at most a few times: racing first reads may each register it,
    /// which is harmless, as a second run in the child only moves to another fresh value).
    fn register_child_handler() {
        #[cfg(unix)]
        {
            // SAFETY: `in_child` is a valid `extern "C" fn()` that lives as long as the
            // process and does only async-signal-safe work; no prepare or parent handler.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            // Fails only without memory for the handler; the wipe-on-fork page still works.
            let _ = rc;
        }
        #[cfg(not(unix))]
        let _ = in_child;
    }

    /// Held around code whose library keeps process-wide locks that a `fork()`ed child must
    /// not inherit in a locked state: SQLite's calls (its library-wide mutexes, e.g. its memory
    /// allocator's), so that a child can open a new engine on a SQLite keystore even if another
    /// thread of the parent was inside SQLite when it forked.
    ///
    /// Any number of threads hold it at once; `fork()` waits (in a `pthread_atfork` prepare
    /// handler) until none holds it and keeps new holders out until it returns, in the parent
    /// and in the child. Nested holds on one thread are free. A `fork()` on a thread that holds
    /// it does not wait (it cannot).
    pub(crate) struct HoldOff {
        guard: Option<std::sync::RwLockReadGuard<'static, ()>>,
    }

    static GATE: std::sync::RwLock<()> = std::sync::RwLock::new(());
    /// 0: the gate's handlers are not registered; 1: being registered; 2: registered.
    static GATE_HANDLERS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

    thread_local! {
        /// How many `HoldOff`s this thread holds.
        static HOLDS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
        /// The gate, write-locked by this thread across its `fork()`.
        static FORKING: std::cell::RefCell<Option<std::sync::RwLockWriteGuard<'static, ()>>> =
            const { std::cell::RefCell::new(None) };
    }

    /// Holds off `fork()` until the returned guard is dropped (see [`HoldOff`]).
    pub(crate) fn hold_off() -> HoldOff {
        if GATE_HANDLERS.load(Ordering::Acquire) == 0
            && GATE_HANDLERS.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            #[cfg(unix)]
            {
                // SAFETY: three valid `extern "C" fn()`s that live as long as the process; they
                // only lock and unlock the gate on the forking thread. Registered once (the
                // compare-exchange above), so the prepare handler never locks the gate twice.
                let _ = unsafe { libc::pthread_atfork(Some(gate_prepare), Some(gate_release), Some(gate_release)) };
            }
            GATE_HANDLERS.store(2, Ordering::Release);
        }
        let outer = HOLDS.with(|h| {
            h.set(h.get() + 1);
            h.get() == 1
        });
        let guard = outer.then(|| GATE.read().unwrap_or_else(std::sync::PoisonError::into_inner));
        HoldOff { guard }
    }

    impl Drop for HoldOff {
        fn drop(&mut self) {
            drop(self.guard.take());
            HOLDS.with(|h| h.set(h.get().saturating_sub(1)));
        }
    }

    extern "C" fn gate_prepare() {
        let holding = HOLDS.try_with(std::cell::Cell::get).unwrap_or(0) > 0;
        if !holding {
            let guard = GATE.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = FORKING.try_with(|f| *f.borrow_mut() = Some(guard));
        }
    }

    /// After `fork()`, in the parent and in the child (where this thread is the only one).
    extern "C" fn gate_release() {
        let _ = FORKING.try_with(|f| f.borrow_mut().take());
    }

    mod sys {
        use std::sync::atomic::AtomicU64;

        /// A word in a fresh page marked `MADV_WIPEONFORK`, or `None` where the kernel does
        /// not offer that.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        pub(super) fn wipe_on_fork_word() -> Option<&'static AtomicU64> {
            let len = super::super::sys::page_size();
            let p = super::super::sys::try_map(len)?.as_ptr().cast::<libc::c_void>();
            // SAFETY: `p..p + len` is the mapping just made; the advice changes only what a
            // child of `fork()` sees of it.
            if unsafe { libc::madvise(p, len, libc::MADV_WIPEONFORK) } != 0 {
                // SAFETY: as above; nothing refers to the mapping.
                unsafe { libc::munmap(p, len) };
                return None;
            }
            // SAFETY: the mapping is page-aligned (so aligned for `AtomicU64`), zero-filled
            // (a valid `AtomicU64`), readable and writable, and stays mapped until
            // `release_word` unmaps a word that was never published.
            Some(unsafe { &*p.cast::<AtomicU64>() })
        }

        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        pub(super) fn wipe_on_fork_word() -> Option<&'static AtomicU64> {
            None
        }

        /// Gives back a word that lost the race to be published.
        pub(super) fn release_word(word: &'static AtomicU64) {
            if std::ptr::eq(word, &super::FALLBACK) {
                return;
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                let p = std::ptr::from_ref(word).cast_mut().cast::<libc::c_void>();
                // SAFETY: `word` is the start of a one-page mapping made by
                // `wipe_on_fork_word` that was never published, so nothing else refers to it.
                unsafe { libc::munmap(p, super::super::sys::page_size()) };
            }
        }
    }

    /// TEST ONLY (tests and the feature `test-hooks`): runs `child` in a `fork()`ed child of
    /// this process and returns its exit code and everything it wrote to the given file (a
    /// pipe to the parent). The child ends with `_exit` (no destructors, no `atexit`
    /// handlers); a panic in `child` gives code 101. `None` for `child`'s code means the
    /// child was killed by a signal. Fails if the child neither writes nor exits for
    /// `stall` (a hang detector with a wide margin, not a timing assertion): the child is
    /// then killed.
    ///
    /// Keep `child` to what is safe in the child of a multi-threaded process: no locks that
    /// another thread of the parent may have held (no printing to stdout/stderr).
    #[cfg(all(unix, any(test, feature = "test-hooks")))]
    #[doc(hidden)]
    pub fn test_hook_fork(
        stall: std::time::Duration,
        child: impl FnOnce(&mut std::fs::File) -> i32,
    ) -> std::io::Result<(Option<i32>, Vec<u8>)> {
        use std::io::{Read as _, Write as _};
        use std::os::fd::FromRawFd as _;

        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is valid for writing two descriptors.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // Make sure the parent's generation is set up, so the child's differs from it.
        let _ = generation();
        // SAFETY: the child runs only `child` (whose limits the caller accepts, see above)
        // and then `_exit`s; the parent goes on as usual.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            // SAFETY: both descriptors are ours and open.
            unsafe {
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            return Err(e);
        }
        if pid == 0 {
            // SAFETY: the child owns both descriptors; the read end is not used here and the
            // write end becomes the `File` (closed by `_exit`).
            let mut out = unsafe {
                libc::close(fds[0]);
                std::fs::File::from_raw_fd(fds[1])
            };
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child(&mut out))).unwrap_or(101);
            let _ = out.flush();
            // SAFETY: ends the child at once, as a child of a multi-threaded process should.
            unsafe { libc::_exit(code) }
        }
        // SAFETY: the parent owns both descriptors; it only reads, so the write end goes.
        let mut input = unsafe {
            libc::close(fds[1]);
            std::fs::File::from_raw_fd(fds[0])
        };
        let mut output = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let mut pfd = libc::pollfd { fd: fds[0], events: libc::POLLIN, revents: 0 };
            let ms = libc::c_int::try_from(stall.as_millis()).unwrap_or(libc::c_int::MAX);
            // SAFETY: `pfd` is one valid pollfd.
            let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                let stacks = stacks_of(pid);
                // SAFETY: `pid` is our child, not yet reaped.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the forked child made no progress for {stall:?} and was killed; its threads:\n{stacks}"),
                ));
            }
            match input.read(&mut buf)? {
                0 => break,
                n => output.extend_from_slice(&buf[..n]),
            }
        }
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is valid for writing.
        while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        Ok((code, output))
    }

    /// The stack of every thread of the stalled process `pid`, from gdb when it is installed
    /// (what a hang in a forked child waits on), else a line saying why there are none.
    #[cfg(all(unix, any(test, feature = "test-hooks")))]
    fn stacks_of(pid: libc::pid_t) -> String {
        let run = std::process::Command::new("gdb")
            .args(["-p", &pid.to_string(), "-batch", "-nx", "-ex", "thread apply all bt"])
            .stdin(std::process::Stdio::null())
            .output();
        match run {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stdout);
                let keep = text.len().saturating_sub(32 * 1024);
                text[text.ceil_char_boundary(keep)..].to_owned()
            }
            Err(e) => format!("(no stacks: gdb could not run: {e})"),
        }
    }
}

/// Removes the variable `name` from this process's environment, once a root key (or its
/// passphrase) has been read from it, and overwrites its value with zeros where the kernel put
/// the process's initial environment — the block that `/proc/PID/environ` shows to the
/// process's owner and to root, which removing the variable alone leaves intact.
///
/// The overwrite happens on Linux, and only when the variable's value lies in that initial
/// block (a value set later by `setenv` lives in memory the C library owns and is only
/// removed). Copies made elsewhere (a runtime's own copy of the environment, such as Python's
/// `os.environ` or Go's `os.Getenv`, or the parent process's) are out of reach.
///
/// `std::env::remove_var` is `unsafe` because the C library's environment is not
/// thread-safe: see the `SAFETY` comment below for the condition this relies on, which
/// [`RootKeySource::env`](crate::RootKeySource::env) documents for embedders.
pub(crate) fn remove_env_var(name: &str) {
    // `remove_var` panics on these names; no variable can have them, so there is nothing to do.
    if name.is_empty() || name.contains(['=', '\0']) {
        return;
    }
    let initial = env_block::value_in_initial_block(name);
    // SAFETY: `remove_var` requires that no other thread reads or writes the environment at
    // the same time except through `std::env` (whose functions take the standard library's
    // environment lock, as `remove_var` does). This function cannot check that, and neither
    // can the engine: a thread that calls C's `getenv` (directly, or inside the C library,
    // whose time zone, locale and resolver functions read the environment) while the C
    // library rearranges its `environ` array may read a stale pointer, and a thread that sets
    // a variable meanwhile races with the `getenv` above. The engine calls this once per open
    // from these sources, inside `KmsBuilder::open`; the documentation of
    // `RootKeySource::env` and `RootKeySource::passphrase_env` states the condition for
    // embedders: open the engine while no other thread reads the environment through C or
    // changes it (before starting threads, as a program that reads its configuration at
    // start-up does), or use another source. Under that condition no other reader or writer
    // exists, and the removal is sound; the CLI opens its engine before it starts any thread.
    unsafe { std::env::remove_var(name) };
    if let Some((ptr, len)) = initial {
        // SAFETY: `ptr..ptr + len` lies inside the process's initial environment block
        // (`env_start..env_end` of `/proc/self/stat`), which the kernel mapped writable on the
        // main thread's stack for the process's whole life and which neither Rust nor the C
        // library allocated or frees. After `remove_var` no `environ` entry points at these
        // bytes any more, so only a thread that looked the variable up before the removal
        // could still read them: the same condition as above.
        unsafe { memsec::memzero(ptr, len) }
    }
}

/// Where a variable's value sits in the initial environment block (Linux).
mod env_block {
    /// The address and length of `name`'s value, if `getenv` finds it inside the block the
    /// kernel filled at `execve` (`env_start..env_end` in `/proc/self/stat`).
    #[cfg(target_os = "linux")]
    pub(super) fn value_in_initial_block(name: &str) -> Option<(*mut u8, usize)> {
        let (start, end) = bounds()?;
        let c_name = std::ffi::CString::new(name).ok()?;
        // SAFETY: `c_name` is a valid NUL-terminated string; `getenv` returns NULL or a
        // pointer to a NUL-terminated value. No other thread changes the environment during
        // this call: the condition stated at `remove_var` in `remove_env_var`.
        let value = unsafe { libc::getenv(c_name.as_ptr()) };
        if value.is_null() {
            return None;
        }
        // SAFETY: `value` is non-null and points at a NUL-terminated string (above).
        let len = unsafe { libc::strlen(value) };
        let at = value as usize;
        (at >= start && at.checked_add(len)? < end).then_some((value.cast::<u8>(), len))
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn value_in_initial_block(_name: &str) -> Option<(*mut u8, usize)> {
        None
    }

    /// `env_start` and `env_end` of `/proc/self/stat` (fields 50 and 51, after the command
    /// name in parentheses, which may itself hold spaces or parentheses).
    #[cfg(target_os = "linux")]
    fn bounds() -> Option<(usize, usize)> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let after_name = &stat[stat.rfind(')')? + 1..];
        // Field 3 (the state) is the first one after the name.
        let mut fields = after_name.split_whitespace().skip(50 - 3);
        let start: usize = fields.next()?.parse().ok()?;
        let end: usize = fields.next()?.parse().ok()?;
        (start != 0 && start < end).then_some((start, end))
    }
}

/// A byte string of key material in locked memory, wiped when dropped.
///
/// No `Clone` (use [`SecretBytes::try_clone`]), no `Display`, no `PartialEq` (use
/// [`SecretBytes::ct_eq`]); `Debug` shows only the length.
pub struct SecretBytes {
    /// The first byte: the slot's start, or a piece of a shared slot.
    ptr: NonNull<u8>,
    len: usize,
    owner: Owner,
}

/// What a [`SecretBytes`] owns.
enum Owner {
    /// A whole slot, wiped and released when dropped.
    Whole(Slot),
    /// A piece of a slot shared with the other pieces of one [`Arena::alloc_split`]: the piece
    /// wipes its own bytes when dropped, and the last piece wipes and releases the slot.
    Shared(Arc<Slot>),
}

// SAFETY: a `SecretBytes` owns its `len` bytes at `ptr` alone (a whole slot, or a piece that
// no other piece overlaps); they are read through `&self` and written through `&mut self` or in
// `Drop`. `Slot` is `Send + Sync`.
unsafe impl Send for SecretBytes {}
// SAFETY: see `Send`; shared access only reads the bytes.
unsafe impl Sync for SecretBytes {}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        if let Owner::Shared(_) = self.owner {
            // SAFETY: the piece's `len` bytes at `ptr` are inside the shared slot, which the
            // `Arc` in `owner` keeps mapped; no other piece overlaps them and nothing else
            // refers to them once this value is being dropped.
            unsafe { memsec::memzero(self.ptr.as_ptr(), self.len) };
        }
        // Then `owner` drops: a whole slot is wiped and released; the last piece of a shared
        // slot wipes and releases it.
    }
}

impl SecretBytes {
    fn whole(slot: Slot, len: usize) -> Self {
        Self { ptr: slot.ptr, len, owner: Owner::Whole(slot) }
    }

    fn arena(&self) -> &Arc<Inner> {
        match &self.owner {
            Owner::Whole(slot) => &slot.arena,
            Owner::Shared(slot) => &slot.arena,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` if the secret is zero bytes long.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The secret bytes. Copies made from this slice are not protected.
    pub fn expose_secret(&self) -> &[u8] {
        // SAFETY: the `len` bytes at `ptr` lie inside the owned slot (`len` fits its class, or
        // the piece fits inside it: see `alloc_split`); they are mapped and initialised
        // (zero-filled, then only written through this type), owned by this value alone and
        // only mutated through `&mut self`, and the mapping lives as long as the slot's arena,
        // which `owner` keeps alive for the returned borrow of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The secret bytes, writable. Copies made from this slice are not protected.
    pub fn expose_secret_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `expose_secret`; `&mut self` makes this the only reference to the
        // slot's bytes for the returned borrow.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Compares with `other` in time independent of the contents (a length mismatch is
    /// not hidden: lengths are not secret).
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        self.expose_secret().ct_eq(other).into()
    }

    /// Copies the secret into a new slot of the same arena.
    ///
    /// # Errors
    /// [`SecretError::BudgetExceeded`] or [`SecretError::LockFailed`], as [`Arena::alloc`].
    pub fn try_clone(&self) -> Result<SecretBytes, SecretError> {
        Arena(Arc::clone(self.arena())).alloc_copy(self.expose_secret())
    }

    #[cfg(test)]
    fn slot_ptr(&self) -> (NonNull<u8>, usize) {
        match &self.owner {
            Owner::Whole(slot) => (slot.ptr, class_size(slot.class.into())),
            Owner::Shared(_) => (self.ptr, self.len),
        }
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {}])", self.len)
    }
}

/// A value of type `T` held in a slot of locked memory; the slot is wiped after `T`'s
/// destructor runs.
///
/// Only the `T` itself is in the slot: heap memory `T` owns (a `Vec`'s buffer, a `Box`) is not.
/// The moved-from copy passed to [`Arena::locked`] is not wiped. `Debug` prints
/// `Locked<REDACTED>`.
pub struct Locked<T> {
    slot: Slot,
    _owns: PhantomData<T>,
}

impl<T> Locked<T> {
    #[cfg(test)]
    fn slot_ptr(&self) -> (NonNull<u8>, usize) {
        (self.slot.ptr, class_size(self.slot.class.into()))
    }
}

impl<T> Deref for Locked<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `Arena::locked` wrote a valid, suitably aligned `T` into the slot; it is
        // dropped only in `Drop`, mutated only through `&mut self`, and the mapping lives as
        // long as `slot.arena`.
        unsafe { self.slot.ptr.cast::<T>().as_ref() }
    }
}

impl<T> DerefMut for Locked<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference to the `T`.
        unsafe { self.slot.ptr.cast::<T>().as_mut() }
    }
}

impl<T> Drop for Locked<T> {
    fn drop(&mut self) {
        // SAFETY: the slot holds the valid `T` written by `Arena::locked`, which is dropped
        // only here, once; afterwards `slot` (dropped next, even if this panics) only wipes the
        // bytes and never reads them as a `T`.
        unsafe { self.slot.ptr.cast::<T>().as_ptr().drop_in_place() };
    }
}

impl<T> fmt::Debug for Locked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Locked<REDACTED>")
    }
}

/// Secret bytes on the ordinary heap, wiped when dropped: for secrets too large, too many or
/// too short-lived for the arena — an Encrypt request's plaintext, a JSON body that carries a
/// plaintext in base64, the buffers of a streaming envelope decryption.
///
/// Unlike a `Vec<u8>`, growing leaves no copy behind: when the bytes move to a larger
/// allocation, the old one is wiped before it is freed. Every byte ever written is wiped on
/// drop, including bytes cut off by [`truncate`](Self::truncate) or [`clear`](Self::clear).
/// The memory is neither locked nor excluded from core dumps: key material belongs in
/// [`SecretBytes`]. Converting from a `Vec<u8>` takes over its allocation without copying
/// (bytes past its length are not known, so not wiped); converting from a slice, an array or a
/// string copies it, and the source is the caller's to wipe.
///
/// `Debug` shows only the length; there is no `Display`, `PartialEq` (use
/// [`SecretVec::ct_eq`]) or serde implementation. As with [`SecretBytes`], the bytes are
/// reached through [`expose_secret`](Self::expose_secret).
///
/// ```
/// use trent::secret::SecretVec;
///
/// let mut body = SecretVec::from(r#"{"Plaintext":""#);
/// body.extend_from_slice(br#"aGk="}"#);
/// assert_eq!(body.expose_secret(), br#"{"Plaintext":"aGk="}"#);
/// assert_eq!(format!("{body:?}"), "SecretVec([REDACTED; 20])");
/// ```
#[derive(Default)]
pub struct SecretVec {
    buf: Vec<u8>,
    /// How many bytes at the start of `buf`'s allocation were ever written: what to wipe.
    written: usize,
}

impl SecretVec {
    /// An empty buffer (no allocation).
    pub const fn new() -> Self {
        Self { buf: Vec::new(), written: 0 }
    }

    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { buf: Vec::with_capacity(capacity), written: 0 }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// `true` if the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes the buffer has room for without moving.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The secret bytes. Copies made from this slice are not protected.
    pub fn expose_secret(&self) -> &[u8] {
        &self.buf
    }

    /// The secret bytes, writable. Copies made from this slice are not protected.
    pub fn expose_secret_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Compares with `other` in time independent of the contents (a length mismatch is not
    /// hidden: lengths are not secret).
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        self.buf.ct_eq(other).into()
    }

    /// Makes room for at least `additional` more bytes, at least doubling the capacity when it
    /// must move (as `Vec::reserve`); the old allocation is wiped.
    pub fn reserve(&mut self, additional: usize) {
        let need = self.buf.len().saturating_add(additional);
        if need > self.buf.capacity() {
            self.move_to(need.max(self.buf.capacity().saturating_mul(2)).max(64));
        }
    }

    /// Makes room for exactly `additional` more bytes (as `Vec::reserve_exact`); the old
    /// allocation is wiped.
    pub fn reserve_exact(&mut self, additional: usize) {
        let need = self.buf.len().saturating_add(additional);
        if need > self.buf.capacity() {
            self.move_to(need);
        }
    }

    /// Appends `bytes`.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.buf.extend_from_slice(bytes);
        self.written = self.written.max(self.buf.len());
    }

    /// Appends one byte.
    pub fn push(&mut self, byte: u8) {
        self.reserve(1);
        self.buf.push(byte);
        self.written = self.written.max(self.buf.len());
    }

    /// Resizes to `len` bytes, filling new ones with `value`.
    pub fn resize(&mut self, len: usize, value: u8) {
        self.reserve(len.saturating_sub(self.buf.len()));
        self.buf.resize(len, value);
        self.written = self.written.max(self.buf.len());
    }

    /// Shortens to `len` bytes (the bytes cut off are wiped when the buffer is dropped or
    /// moves).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Empties the buffer, keeping its allocation (see [`truncate`](Self::truncate)).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Moves the bytes to a new allocation of `capacity` bytes and wipes the old one.
    fn move_to(&mut self, capacity: usize) {
        let mut fresh = Vec::with_capacity(capacity);
        fresh.extend_from_slice(&self.buf);
        let mut old = std::mem::replace(&mut self.buf, fresh);
        wipe_allocation(&mut old, self.written);
        self.written = self.buf.len();
    }
}

/// Wipes the first `n` bytes of `v`'s allocation, past its length too (up to its capacity).
fn wipe_allocation(v: &mut Vec<u8>, n: usize) {
    let n = n.min(v.capacity());
    // SAFETY: the first `n <= capacity` bytes of the allocation are valid for writes; writing
    // zeros past the length only initialises bytes the `Vec` treats as uninitialised.
    unsafe { memsec::memzero(v.as_mut_ptr(), n) };
    #[cfg(test)]
    tests::hooks::freed(v.as_ptr(), n);
}

impl Drop for SecretVec {
    fn drop(&mut self) {
        wipe_allocation(&mut self.buf, self.written);
    }
}

impl Clone for SecretVec {
    fn clone(&self) -> Self {
        Self::from(self.expose_secret())
    }
}

impl fmt::Debug for SecretVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretVec([REDACTED; {}])", self.buf.len())
    }
}

impl io::Write for SecretVec {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl From<Vec<u8>> for SecretVec {
    fn from(buf: Vec<u8>) -> Self {
        let written = buf.len();
        Self { buf, written }
    }
}

impl From<String> for SecretVec {
    fn from(s: String) -> Self {
        Self::from(s.into_bytes())
    }
}

impl From<&[u8]> for SecretVec {
    fn from(bytes: &[u8]) -> Self {
        Self::from(bytes.to_vec())
    }
}

impl From<&Vec<u8>> for SecretVec {
    fn from(bytes: &Vec<u8>) -> Self {
        Self::from(bytes.as_slice())
    }
}

impl<const N: usize> From<&[u8; N]> for SecretVec {
    fn from(bytes: &[u8; N]) -> Self {
        Self::from(bytes.as_slice())
    }
}

impl<const N: usize> From<[u8; N]> for SecretVec {
    fn from(bytes: [u8; N]) -> Self {
        Self::from(bytes.as_slice())
    }
}

impl From<&str> for SecretVec {
    fn from(s: &str) -> Self {
        Self::from(s.as_bytes())
    }
}

/// A global allocator that wipes every heap block before freeing it, and before a
/// reallocation moves it: for a program whose plaintexts pass through libraries that do not
/// wipe their buffers (`serde_json` values, a JMESPath interpreter, text formatting). The
/// `trent` CLI installs it:
///
/// ```
/// #[global_allocator]
/// static ALLOCATOR: trent::secret::WipingAllocator = trent::secret::WipingAllocator;
/// # fn main() {}
/// ```
///
/// It wraps [`std::alloc::System`]. A reallocation always allocates a new block, copies and
/// wipes the old one (the system's `realloc` may move a block without wiping it). The cost is
/// one `memset` of each block when it is freed, so it suits short-lived programs; a library
/// wipes what matters with [`SecretVec`] and [`SecretBytes`] instead. Memory still in use is
/// not wiped, nor memory that C code allocates itself (SQLite's).
#[derive(Clone, Copy, Debug, Default)]
pub struct WipingAllocator;

// SAFETY: every block comes from `System` with the layout the caller gave (in `realloc`, the
// same alignment and the new size, as `GlobalAlloc::realloc` requires), so `System`'s contract
// holds for what is handed out; the only extra writes are zeros into a block that its owner is
// giving back, before it goes back to `System`.
unsafe impl GlobalAlloc for WipingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantee that `layout` has a non-zero size.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees that `ptr` is a block of this allocator made with
        // `layout`, so `layout.size()` bytes are valid for writes, and that nothing uses it
        // any more.
        unsafe { memsec::memzero(ptr, layout.size()) };
        #[cfg(test)]
        tests::hooks::freed(ptr, layout.size());
        // SAFETY: `System` made this block with this layout (see `alloc` and `realloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees that `new_size` is non-zero and, rounded up to
        // `layout.align()`, does not overflow `isize`: a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size.
        let new = unsafe { System.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: `ptr` is valid for reads of `layout.size()` bytes and `new` for writes
            // of `new_size`; they are distinct live blocks.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: `ptr` is this allocator's block made with `layout`; after a successful
            // `realloc` the caller no longer uses it.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

/// TEST ONLY (feature `test-hooks`): `buf`'s initialised bytes as the output buffer of
/// [`Kms::encrypt_into`](crate::Kms::encrypt_into), which writes only initialised bytes, so a
/// test can read back what it wrote. Crate-private: its one caller hands the view to that call
/// and nothing else, which is what makes the view sound.
#[cfg(feature = "test-hooks")]
pub(crate) fn as_uninit_for_encrypt_into(buf: &mut [u8]) -> &mut [std::mem::MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the size and alignment of `u8`, and the view borrows `buf`
    // exclusively for its lifetime. Writing `MaybeUninit::uninit()` through it would leave
    // `buf` uninitialised; its one user, `Kms::test_hook_encrypt_into`, passes it to
    // `Kms::encrypt_into`, which only copies initialised bytes into it.
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast(), buf.len()) }
}

/// TEST ONLY (feature `test-hooks`, never in a build that holds real keys).
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub mod test_hooks {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A global allocator (the system's) that counts the bytes allocated and their peak, for
    /// tests that bound the memory an operation allocates.
    #[derive(Debug, Default)]
    pub struct CountingAllocator {
        live: AtomicUsize,
        peak: AtomicUsize,
    }

    impl CountingAllocator {
        /// A counter at zero.
        pub const fn new() -> Self {
            Self { live: AtomicUsize::new(0), peak: AtomicUsize::new(0) }
        }

        /// Bytes allocated and not yet freed.
        pub fn live(&self) -> usize {
            self.live.load(Ordering::SeqCst)
        }

        /// The most bytes allocated at once since the last [`reset_peak`](Self::reset_peak).
        pub fn peak(&self) -> usize {
            self.peak.load(Ordering::SeqCst)
        }

        /// Starts a new peak from the bytes allocated now, which it returns.
        pub fn reset_peak(&self) -> usize {
            let live = self.live();
            self.peak.store(live, Ordering::SeqCst);
            live
        }

        fn grew(&self, n: usize) {
            let live = self.live.fetch_add(n, Ordering::SeqCst) + n;
            self.peak.fetch_max(live, Ordering::SeqCst);
        }

        fn shrank(&self, n: usize) {
            self.live.fetch_sub(n, Ordering::SeqCst);
        }
    }

    // SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
    unsafe impl GlobalAlloc for CountingAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                self.grew(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                self.grew(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) };
            self.shrank(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: forwarded with the caller's guarantees.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                self.grew(new_size);
                self.shrank(layout.size());
            }
            p
        }
    }
}

/// Ownership of one slot: wipes it and puts it back on its free list when dropped.
struct Slot {
    ptr: NonNull<u8>,
    arena: Arc<Inner>,
    chunk: u32,
    class: u8,
}

// SAFETY: a `Slot` owns its bytes (like a `Box<[u8]>`): they are reachable only through it,
// or, for a slot shared by `alloc_split` through an `Arc<Slot>`, through the pieces, which
// cover disjoint ranges and write only their own range through raw pointers (no `&`/`&mut` to
// the slot's bytes as a whole exists while pieces live). The whole slot is written only in
// `Drop`, after the last owner is gone. The arena state it points into is behind a mutex and
// `Inner` is `Send + Sync`.
unsafe impl Send for Slot {}
// SAFETY: see `Send`; a `&Slot` never reads or writes the bytes itself.
unsafe impl Sync for Slot {}

impl Slot {
    fn new(free: FreeSlot, class: usize, arena: &Arc<Inner>) -> Self {
        Slot {
            ptr: free.ptr,
            arena: Arc::clone(arena),
            chunk: free.chunk,
            // A class index is below `CLASSES` (8).
            class: class as u8,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let class = usize::from(self.class);
        // SAFETY: the slot is `class_size(class)` bytes of mapped, writable memory owned by
        // this `Slot` alone (any value in it has already been dropped), and the mapping is
        // kept alive by `self.arena`.
        unsafe { memsec::memzero(self.ptr.as_ptr(), class_size(class)) };
        self.arena.release(FreeSlot { ptr: self.ptr, chunk: self.chunk }, class);
    }
}

struct Inner {
    state: Mutex<State>,
    budget_bytes: usize,
    chunk_bytes: usize,
    max_chunks: usize,
    allow_unlocked: bool,
    all_locked: AtomicBool,
    /// The [`fork::generation`] of the process that made the arena.
    generation: u64,
}

struct State {
    chunks: Vec<Chunk>,
    /// Mapped chunks not carved into any size class.
    spare: Vec<u32>,
    classes: [SizeClass; CLASSES],
    in_use: usize,
}

// SAFETY: the raw pointers in `State` point into chunks owned by the arena, which are not tied
// to any thread; `State` is only reached through the arena's mutex.
unsafe impl Send for State {}

struct Chunk {
    base: NonNull<u8>,
    locked: bool,
    class: Option<u8>,
    used: u32,
}

struct SizeClass {
    /// Free slots, all zero-filled. Capacity is kept `>= total`, so pushes never allocate.
    free: Vec<FreeSlot>,
    /// Slots in all chunks carved for this class.
    total: usize,
}

struct FreeSlot {
    ptr: NonNull<u8>,
    chunk: u32,
}

impl Inner {
    /// Pops a free slot of `class`, carving a new chunk if there is none.
    fn pop(&self, st: &mut State, class: usize) -> Result<FreeSlot, SecretError> {
        if st.classes[class].free.is_empty() {
            self.grow(st, class)?;
        }
        let slot = st.classes[class].free.pop().ok_or_else(|| SecretError::BudgetExceeded {
            // Unreachable: `grow` just carved at least one slot (every chunk holds at
            // least one slot of every class).
            budget_bytes: self.budget_bytes,
            reserved_bytes: st.chunks.len() * self.chunk_bytes,
            requested_bytes: class_size(class),
        })?;
        st.chunks[slot.chunk as usize].used += 1;
        st.in_use += 1;
        Ok(slot)
    }

    /// Refuses to hand out slots in a `fork()`ed child: the lock may be held by a thread that
    /// exists only in the parent.
    fn check_process(&self) -> Result<(), SecretError> {
        if fork::generation() == self.generation { Ok(()) } else { Err(SecretError::ForkedChild) }
    }

    fn release(&self, slot: FreeSlot, class: usize) {
        // In a fork()ed child the (already wiped) slot is not given back: the lock may be
        // held by a thread the child does not have.
        if self.check_process().is_err() {
            return;
        }
        let mut st = self.state.lock();
        st.chunks[slot.chunk as usize].used -= 1;
        st.in_use -= 1;
        st.classes[class].free.push(slot);
    }

    /// Carves one more chunk for `class`: a spare one, a newly mapped one, or one of another
    /// class whose slots are all free.
    fn grow(&self, st: &mut State, class: usize) -> Result<(), SecretError> {
        let idx = match st.spare.pop() {
            Some(idx) => idx,
            None if st.chunks.len() < self.max_chunks => self.map_chunk(st)?,
            None => self.reclaim(st, class)?,
        };
        let size = class_size(class);
        let chunk = &mut st.chunks[idx as usize];
        // A class index is below `CLASSES` (8).
        chunk.class = Some(class as u8);
        let base = chunk.base;
        let n = self.chunk_bytes / size;
        let sc = &mut st.classes[class];
        sc.total += n;
        sc.free.reserve(sc.total - sc.free.len());
        // Reverse order, so that the lowest addresses are handed out first.
        for i in (0..n).rev() {
            // SAFETY: `i * size < chunk_bytes`, so the offset stays inside the chunk's mapping.
            let ptr = unsafe { base.add(i * size) };
            sc.free.push(FreeSlot { ptr, chunk: idx });
        }
        Ok(())
    }

    /// Takes back a chunk of another class with no slot in use, or fails with
    /// `BudgetExceeded`.
    fn reclaim(&self, st: &mut State, class: usize) -> Result<u32, SecretError> {
        let found = st.chunks.iter().position(|c| c.used == 0 && c.class.is_some_and(|k| usize::from(k) != class));
        let Some(idx) = found else {
            return Err(SecretError::BudgetExceeded {
                budget_bytes: self.budget_bytes,
                reserved_bytes: st.chunks.len() * self.chunk_bytes,
                requested_bytes: self.chunk_bytes,
            });
        };
        // `max_chunks <= u32::MAX`, so every chunk index fits.
        let idx = idx as u32;
        let chunk = &mut st.chunks[idx as usize];
        let old = chunk.class.take().map_or(0, usize::from);
        let sc = &mut st.classes[old];
        sc.free.retain(|s| s.chunk != idx);
        sc.total -= self.chunk_bytes / class_size(old);
        // Its slots are all free, hence all zero: nothing to wipe.
        Ok(idx)
    }

    /// Maps and locks a new chunk; the caller checks the budget.
    fn map_chunk(&self, st: &mut State) -> Result<u32, SecretError> {
        let base = sys::map(self.chunk_bytes);
        let locked = sys::lock(base, self.chunk_bytes);
        if let Err(os_error) = locked {
            if !self.allow_unlocked {
                let locked_bytes = st.chunks.iter().filter(|c| c.locked).count() * self.chunk_bytes;
                sys::unmap(base, self.chunk_bytes, false);
                return Err(SecretError::LockFailed {
                    bytes: self.chunk_bytes,
                    locked_bytes,
                    rlimit_memlock: sys::memlock_limit(),
                    os_error,
                });
            }
            self.all_locked.store(false, Ordering::Relaxed);
        }
        st.chunks.push(Chunk { base, locked: locked.is_ok(), class: None, used: 0 });
        // `max_chunks <= u32::MAX`, so every chunk index fits.
        Ok((st.chunks.len() - 1) as u32)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for chunk in self.state.get_mut().chunks.drain(..) {
            sys::unmap(chunk.base, self.chunk_bytes, chunk.locked);
        }
    }
}

/// The size class for a request of `bytes` bytes.
fn class_for(bytes: usize) -> Result<usize, SecretError> {
    if bytes > MAX_SECRET_LEN {
        return Err(SecretError::TooLarge { len: bytes, max: MAX_SECRET_LEN });
    }
    let size = bytes.max(1 << MIN_SLOT_SHIFT).next_power_of_two();
    Ok((size.trailing_zeros() - MIN_SLOT_SHIFT) as usize)
}

const fn class_size(class: usize) -> usize {
    1 << (MIN_SLOT_SHIFT as usize + class)
}

/// The few operating-system calls the arena makes.
mod sys {
    use std::alloc::handle_alloc_error;
    use std::io;
    use std::ptr::NonNull;

    use super::{Layout, MAX_SECRET_LEN};

    fn layout(len: usize) -> Layout {
        Layout::from_size_align(len, page_size().max(MAX_SECRET_LEN)).unwrap_or(Layout::new::<u8>())
    }

    /// Locks `len` bytes at `base` (after excluding them from core dumps where supported).
    /// `Err` carries the OS error code, if any.
    pub(super) fn lock(base: NonNull<u8>, len: usize) -> Result<(), Option<i32>> {
        // SAFETY: `base..base + len` is a whole mapping made by `map`; madvise and mlock only
        // change its paging attributes, not its contents.
        let ok = unsafe { memsec::mlock(base.as_ptr(), len) };
        if ok { Ok(()) } else { Err(io::Error::last_os_error().raw_os_error()) }
    }

    #[cfg(unix)]
    pub(super) fn page_size() -> usize {
        // SAFETY: sysconf has no preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(n).ok().filter(|n| n.is_power_of_two()).unwrap_or(4096)
    }

    /// Maps `len` bytes (a multiple of the page size) of zero-filled, page-aligned memory.
    /// Aborts like any Rust allocation if the system is out of memory.
    #[cfg(unix)]
    pub(super) fn map(len: usize) -> NonNull<u8> {
        try_map(len).unwrap_or_else(|| handle_alloc_error(layout(len)))
    }

    /// Maps `len` bytes (a multiple of the page size) of zero-filled, page-aligned, private
    /// anonymous memory; `None` if the system refuses.
    #[cfg(unix)]
    pub(super) fn try_map(len: usize) -> Option<NonNull<u8>> {
        // SAFETY: a new private anonymous mapping with no address hint affects no existing
        // memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANON,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED { None } else { NonNull::new(p.cast()) }
    }

    /// Wipes a chunk made by `map` that nothing references any more, and unlocks it if
    /// `locked`, before `unmap` gives it back.
    fn wipe_and_unlock(base: NonNull<u8>, len: usize, locked: bool) {
        // SAFETY: `base..base + len` is a whole chunk made by `map` that nothing references
        // any more; `munlock` wipes it before unlocking.
        unsafe {
            if locked {
                memsec::munlock(base.as_ptr(), len);
            } else {
                memsec::memzero(base.as_ptr(), len);
            }
        }
    }

    /// Wipes, unlocks (if `locked`) and unmaps a chunk made by `map`.
    #[cfg(unix)]
    pub(super) fn unmap(base: NonNull<u8>, len: usize, locked: bool) {
        wipe_and_unlock(base, len, locked);
        // SAFETY: `base..base + len` is a whole mapping made by `map` that nothing references
        // any more, and it is not used after this.
        unsafe { libc::munmap(base.as_ptr().cast(), len) };
    }

    #[cfg(unix)]
    pub(super) fn memlock_limit() -> Option<u64> {
        let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes only into the `rlimit` we pass, which is valid for writes.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut rl) };
        // `rlim_t` is `u64` on most targets but not all.
        #[allow(clippy::useless_conversion)]
        (rc == 0 && rl.rlim_cur != libc::RLIM_INFINITY).then(|| u64::from(rl.rlim_cur))
    }

    #[cfg(not(unix))]
    pub(super) fn page_size() -> usize {
        4096
    }

    #[cfg(not(unix))]
    pub(super) fn map(len: usize) -> NonNull<u8> {
        let layout = layout(len);
        // SAFETY: `layout` has a non-zero size (a chunk is at least one page).
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        NonNull::new(p).unwrap_or_else(|| handle_alloc_error(layout))
    }

    #[cfg(not(unix))]
    pub(super) fn unmap(base: NonNull<u8>, len: usize, locked: bool) {
        wipe_and_unlock(base, len, locked);
        // SAFETY: allocated by `map` with this same layout, and not used after this.
        unsafe { std::alloc::dealloc(base.as_ptr(), layout(len)) };
    }

    #[cfg(not(unix))]
    pub(super) fn memlock_limit() -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::AtomicUsize;

    use proptest::prelude::*;

    use super::*;

    fn new_arena(budget_bytes: usize) -> Arena {
        Arena::new(ArenaConfig { budget_bytes, allow_unlocked: false }).unwrap()
    }

    /// Reads `len` bytes of arena memory through a raw pointer.
    fn read_raw(ptr: NonNull<u8>, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        for i in 0..len {
            // SAFETY: `ptr..ptr + len` lies in a slot of an arena the test keeps alive, so the
            // chunk is still mapped; nothing writes it concurrently.
            out.push(unsafe { ptr.as_ptr().add(i).read_volatile() });
        }
        out
    }

    const STALL: std::time::Duration = std::time::Duration::from_secs(120);

    /// Runs `child` in a forked child and returns its exit code and output.
    fn in_child(child: impl FnOnce(&mut std::fs::File) -> i32) -> (Option<i32>, Vec<u8>) {
        fork::test_hook_fork(STALL, child).expect("fork")
    }

    #[test]
    fn fork_generation_is_stable_and_differs_in_every_child() {
        let parent = fork::generation();
        assert_ne!(parent, 0);
        assert_eq!(fork::generation(), parent);
        let (code, out) = in_child(|out| {
            use std::io::Write as _;
            let child = fork::generation();
            // A grandchild differs from its parent (this child) too.
            let (code, grand) = fork::test_hook_fork(STALL, |o| {
                let _ = o.write_all(&fork::generation().to_le_bytes());
                0
            })
            .unwrap_or((Some(99), Vec::new()));
            let stable = fork::generation() == child;
            let _ = out.write_all(&child.to_le_bytes());
            let _ = out.write_all(&grand);
            i32::from(!stable) + code.unwrap_or(50)
        });
        assert_eq!(code, Some(0));
        let child = u64::from_le_bytes(out[..8].try_into().unwrap());
        let grandchild = u64::from_le_bytes(out[8..16].try_into().unwrap());
        assert_ne!(child, parent);
        assert_ne!(grandchild, child);
        assert_ne!(grandchild, parent);
        assert_eq!(fork::generation(), parent, "the parent's generation does not change");
    }

    /// A child made by the raw system call, which runs no `pthread_atfork` handler: the
    /// wipe-on-fork page still tells it apart.
    #[test]
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    fn a_raw_fork_system_call_is_detected() {
        let parent = fork::generation();
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is valid for two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the child only reads atomics, writes to a pipe and `_exit`s.
        let pid = unsafe { libc::syscall(libc::SYS_fork) };
        assert!(pid >= 0);
        if pid == 0 {
            let g = fork::generation().to_le_bytes();
            // SAFETY: `fds[1]` is the pipe's open write end; `g` is 8 readable bytes.
            unsafe {
                libc::write(fds[1], g.as_ptr().cast(), g.len());
                libc::_exit(0);
            }
        }
        let mut got = [0u8; 8];
        // SAFETY: the parent closes the write end and reads 8 bytes into `got`.
        let n = unsafe {
            libc::close(fds[1]);
            let n = libc::read(fds[0], got.as_mut_ptr().cast(), got.len());
            libc::close(fds[0]);
            libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
            n
        };
        assert_eq!(n, 8);
        let child = u64::from_le_bytes(got);
        assert_ne!(child, 0);
        assert_ne!(child, parent, "a raw fork(2) went unnoticed");
    }

    /// In a child the arena hands out nothing, and a secret from before the fork is dropped
    /// (wiped) without taking the arena's lock, which a thread that exists only in the parent
    /// holds here.
    #[test]
    fn a_forked_child_never_takes_the_arena_lock() {
        let arena = new_arena(64 << 10);
        let mut before = arena.alloc_copy(b"parent secret").unwrap();
        let ptr = before.expose_secret_mut().as_mut_ptr();
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let arena = arena.clone();
            std::thread::spawn(move || {
                let _lock = arena.0.state.lock();
                held_tx.send(()).unwrap();
                done_rx.recv().unwrap();
            })
        };
        held_rx.recv().unwrap();
        let mut before = Some(before);
        let (code, _) = in_child(|_| {
            let refused = matches!(arena.alloc(32), Err(SecretError::ForkedChild));
            let stats = arena.stats();
            drop(before.take());
            // SAFETY: the slot stays mapped (the arena is alive in this process) and nothing
            // else uses it here.
            let wiped = unsafe { std::slice::from_raw_parts(ptr, 13) }.iter().all(|b| *b == 0);
            match (refused, stats.budget_bytes == 64 << 10, wiped) {
                (true, true, true) => 0,
                (false, ..) => 1,
                (_, false, _) => 2,
                (.., false) => 3,
            }
        });
        done_tx.send(()).unwrap();
        holder.join().unwrap();
        assert_eq!(code, Some(0));
        // In the parent the secret is still there, and released as usual.
        assert_eq!(before.as_ref().map(|b| b.expose_secret().to_vec()), Some(b"parent secret".to_vec()));
        drop(before);
        assert_eq!(arena.stats().slots_in_use, 0);
    }

    /// Test hooks: what the wiping code leaves in a block just before it is freed.
    pub(super) mod hooks {
        use std::cell::RefCell;

        thread_local! {
            static FREED: RefCell<Option<Vec<Vec<u8>>>> = const { RefCell::new(None) };
        }

        /// Records the `n` bytes at `ptr` (just wiped, not yet freed) while [`record`] runs on
        /// this thread.
        pub(in crate::secret) fn freed(ptr: *const u8, n: usize) {
            let _ = FREED.try_with(|f| {
                if let Some(blocks) = f.borrow_mut().as_mut() {
                    // SAFETY: the caller passes a live block whose first `n` bytes it has just
                    // written (zeros) and has not freed yet.
                    blocks.push(unsafe { std::slice::from_raw_parts(ptr, n) }.to_vec());
                }
            });
        }

        /// Runs `f` and returns the contents of every block wiped and freed meanwhile.
        pub(in crate::secret) fn record(f: impl FnOnce()) -> Vec<Vec<u8>> {
            FREED.with(|r| *r.borrow_mut() = Some(Vec::new()));
            f();
            FREED.with(|r| r.borrow_mut().take()).unwrap_or_default()
        }
    }

    #[test]
    fn secret_vec_leaves_only_zeros_behind() {
        let mut grown = 0;
        let freed = hooks::record(|| {
            let mut v = SecretVec::new();
            for i in 0..5000u32 {
                let cap = v.capacity();
                v.push(0xA0 | (i % 16) as u8);
                grown += usize::from(v.capacity() != cap);
            }
            let mut w = v.clone();
            w.truncate(3);
            w.extend_from_slice(&[0xBB; 5000]);
            w.clear();
            v.resize(9000, 0xCC);
            let mut io = SecretVec::with_capacity(4);
            std::io::Write::write_all(&mut io, &[0xDD; 100]).unwrap();
        });
        // Every move (but the first growth from nothing) and every drop left a block behind.
        assert!(grown >= 8, "{grown} growths");
        assert!(freed.len() >= grown + 2, "{} blocks", freed.len());
        for block in &freed {
            assert!(block.iter().all(|&b| b == 0), "a freed block held {:?}", &block[..block.len().min(16)]);
        }
        // Bytes cut off by `truncate` and `clear` are wiped too: `w` wrote 5003 bytes, and its
        // last allocation holds them all.
        assert!(freed.iter().any(|b| b.len() == 5003), "{:?}", freed.iter().map(Vec::len).collect::<Vec<_>>());
        assert_eq!(freed.iter().filter(|b| b.len() == 9000).count(), 1);
    }

    #[test]
    fn secret_vec_conversions_debug_and_compare() {
        let v = SecretVec::from(b"hello");
        assert_eq!(format!("{v:?}"), "SecretVec([REDACTED; 5])");
        assert_eq!(format!("{v:#?}"), "SecretVec([REDACTED; 5])");
        assert!(v.ct_eq(b"hello") && !v.ct_eq(b"hellO") && !v.ct_eq(b"hell"));
        let owned = vec![1u8, 2, 3];
        let ptr = owned.as_ptr();
        let moved = SecretVec::from(owned);
        assert_eq!(moved.expose_secret().as_ptr(), ptr, "a Vec is taken over, not copied");
        for s in [SecretVec::from("hello"), SecretVec::from(String::from("hello")), SecretVec::from(*b"hello")] {
            assert_eq!(s.expose_secret(), b"hello");
        }
        assert_eq!(SecretVec::from(&vec![7u8]).expose_secret(), [7]);
        assert!(SecretVec::default().is_empty());
        let mut m = SecretVec::with_capacity(2);
        m.extend_from_slice(b"ab");
        m.expose_secret_mut()[0] = b'x';
        assert_eq!((m.len(), m.expose_secret()), (2, &b"xb"[..]));
        m.reserve_exact(10);
        assert_eq!(m.capacity(), 12);
    }

    #[test]
    fn wiping_allocator_wipes_freed_and_moved_blocks() {
        let a = WipingAllocator;
        let layout = Layout::from_size_align(100, 8).unwrap();
        let freed = hooks::record(|| {
            // SAFETY: a non-zero layout; the block is written within its 100 bytes, grown by
            // `realloc` with the layout it was made with, then freed once with its new layout.
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                p.write_bytes(0xAA, 100);
                let q = a.realloc(p, layout, 1000);
                assert!(!q.is_null());
                assert_eq!(read_raw(NonNull::new(q).unwrap(), 100), vec![0xAA; 100]);
                q.add(100).write_bytes(0xBB, 900);
                a.dealloc(q, Layout::from_size_align(1000, 8).unwrap());
                let z = a.alloc_zeroed(layout);
                assert_eq!(read_raw(NonNull::new(z).unwrap(), 100), vec![0; 100]);
                a.dealloc(z, layout);
            }
        });
        assert_eq!(freed.iter().map(Vec::len).collect::<Vec<_>>(), [100, 1000, 100]);
        assert!(freed.iter().all(|b| b.iter().all(|&x| x == 0)));
    }

    /// `secret`, whose first `len` bytes are 0xAA in its slot `(ptr, size)` of `class` bytes:
    /// once it is dropped, its whole slot reads as zeros.
    fn wiped_when_dropped<T>(secret: T, (ptr, size): (NonNull<u8>, usize), len: usize, class: usize) {
        assert_eq!(size, class);
        assert_eq!(read_raw(ptr, len), vec![0xAA; len]);
        drop(secret);
        assert_eq!(read_raw(ptr, size), vec![0; size]);
    }

    #[test]
    fn released_secret_bytes_slot_reads_as_zeros() {
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let mut s = arena.alloc(100).unwrap();
        s.expose_secret_mut().fill(0xAA);
        let slot = s.slot_ptr();
        wiped_when_dropped(s, slot, 100, 128);
        assert_eq!(arena.stats().slots_in_use, 0);
    }

    #[test]
    fn split_pieces_wipe_themselves_and_the_last_releases_the_slot() {
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let mut pieces = arena.alloc_split(200, 32).unwrap();
        assert_eq!(pieces.len(), 200);
        // 128 pieces of 32 bytes fill one 4 KiB slot; the other 72 share a second slot.
        assert_eq!(arena.stats().slots_in_use, 2);
        for (i, p) in pieces.iter_mut().enumerate() {
            assert_eq!(p.expose_secret(), &[0; 32]);
            p.expose_secret_mut().fill(i as u8 | 0x80);
        }
        for (i, p) in pieces.iter().enumerate() {
            assert!(p.ct_eq(&[i as u8 | 0x80; 32]), "pieces do not overlap");
        }
        let (first, _) = pieces[0].slot_ptr();
        let (second, _) = pieces[1].slot_ptr();
        assert_eq!(second.as_ptr() as usize - first.as_ptr() as usize, 32);
        // Dropping one piece wipes exactly its bytes; its neighbour keeps its own.
        let victim = pieces.remove(1);
        drop(victim);
        assert_eq!(read_raw(second, 32), vec![0; 32]);
        assert!(pieces[1].ct_eq(&[2 | 0x80; 32]));
        assert_eq!(arena.stats().slots_in_use, 2);
        let (base, _) = pieces[0].slot_ptr();
        drop(pieces);
        assert_eq!(read_raw(base, 4096), vec![0; 4096]);
        assert_eq!(arena.stats().slots_in_use, 0);
        assert!(matches!(arena.alloc_split(1, 0), Err(SecretError::TooLarge { .. })));
        assert!(matches!(arena.alloc_split(1, 4097), Err(SecretError::TooLarge { .. })));
        let sent = arena.alloc_split(3, 100).unwrap();
        std::thread::spawn(move || drop(sent)).join().unwrap();
        assert_eq!(arena.stats().slots_in_use, 0);
    }

    #[test]
    fn released_locked_slot_reads_as_zeros() {
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let l = arena.locked([0xAAu8; 64]).unwrap();
        let slot = l.slot_ptr();
        wiped_when_dropped(l, slot, 64, 64);
    }

    #[test]
    fn reused_slot_starts_zeroed() {
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let mut a = arena.alloc(48).unwrap();
        a.expose_secret_mut().fill(0xAA);
        let (ptr, _) = a.slot_ptr();
        drop(a);
        // Free lists are LIFO: the next secret of the class gets the same slot.
        let b = arena.alloc(64).unwrap();
        assert_eq!(b.slot_ptr().0, ptr);
        assert_eq!(b.expose_secret(), &[0; 64][..]);
        drop(b);
        let l = arena.locked([0u64; 8]).unwrap();
        assert_eq!(l.slot_ptr().0, ptr);
        assert_eq!(*l, [0; 8]);
    }

    #[test]
    fn locked_runs_drop_then_wipes() {
        struct Counted<'a>(&'a AtomicUsize, [u8; 32]);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                assert_eq!(self.1, [7; 32], "destructor must see the value intact");
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let mut l = arena.locked(Counted(&DROPS, [7; 32])).unwrap();
        l.1[0] = 7; // DerefMut
        assert_eq!(l.1, [7; 32]);
        let (ptr, size) = l.slot_ptr();
        drop(l);
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
        assert_eq!(read_raw(ptr, size), vec![0; size]);
    }

    #[test]
    fn locked_respects_size_and_alignment() {
        #[repr(align(256))]
        struct Aligned(#[allow(dead_code)] u8);
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let a = arena.locked(Aligned(1)).unwrap();
        assert_eq!(a.slot_ptr().0.as_ptr() as usize % 256, 0);
        assert_eq!(a.slot_ptr().1, 256);
        let big = arena.locked([0u8; 4096]).unwrap();
        assert_eq!(big.len(), 4096);
        assert_eq!(arena.locked([0u8; 4097]).unwrap_err(), SecretError::TooLarge { len: 4097, max: 4096 });
        let _zst = arena.locked(()).unwrap();
        assert_eq!(arena.stats().slots_in_use, 3);
    }

    #[test]
    fn alloc_len_bounds() {
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let empty = arena.alloc(0).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.expose_secret(), &[] as &[u8]);
        let max = arena.alloc(MAX_SECRET_LEN).unwrap();
        assert_eq!(max.len(), MAX_SECRET_LEN);
        assert!(max.expose_secret().iter().all(|&b| b == 0));
        let err = arena.alloc(MAX_SECRET_LEN + 1).unwrap_err();
        assert!(matches!(err, SecretError::TooLarge { len: 4097, .. }));
        assert_eq!(
            err.to_string(),
            "secret of 4097 bytes is too large for the locked-memory arena \
             (at most 4096 bytes per secret)"
        );
        assert!(matches!(arena.alloc_many(3, 5000), Err(SecretError::TooLarge { .. })));
    }

    #[test]
    fn debug_is_redacted_and_copy_clone_eq_work() {
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let key = [0x41u8; 32];
        let s = arena.alloc_copy(&key).unwrap();
        assert_eq!(format!("{s:?}"), "SecretBytes([REDACTED; 32])");
        assert_eq!(format!("{:#?}", s), "SecretBytes([REDACTED; 32])");
        let l = arena.locked(key).unwrap();
        assert_eq!(format!("{l:?}"), "Locked<REDACTED>");
        assert_eq!(
            format!("{arena:?}"),
            "Arena { budget_bytes: 4194304, reserved_bytes: 65536, slots_in_use: 2, \
             locked: true }"
        );

        assert!(s.ct_eq(&key));
        assert!(!s.ct_eq(&[0x41; 31]));
        let mut other = key;
        other[31] ^= 1;
        assert!(!s.ct_eq(&other));

        let c = s.try_clone().unwrap();
        assert_ne!(c.slot_ptr().0, s.slot_ptr().0);
        assert!(c.ct_eq(s.expose_secret()));
        assert_eq!(arena.stats().slots_in_use, 3);
    }

    #[test]
    fn secrets_keep_the_arena_alive() {
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let s = arena.alloc_copy(b"still here").unwrap();
        let l = arena.locked(5u32).unwrap();
        drop(arena);
        assert_eq!(s.expose_secret(), b"still here");
        assert_eq!(*l, 5);
        let t = s.try_clone().unwrap();
        drop(s);
        assert_eq!(t.expose_secret(), b"still here");
    }

    #[test]
    fn types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Arena>();
        check::<SecretBytes>();
        check::<Locked<[u8; 32]>>();
        check::<SecretError>();
    }

    #[test]
    fn new_probes_and_reports() {
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        assert!(arena.is_locked());
        assert_eq!(
            arena.stats(),
            ArenaStats { budget_bytes: DEFAULT_BUDGET_BYTES, reserved_bytes: CHUNK_BYTES, slots_in_use: 0 }
        );
        // A budget below one chunk uses a smaller chunk; below a page there is no chunk.
        let small = new_arena(8192);
        assert_eq!(small.stats().reserved_bytes, 8192);
        assert!(matches!(
            Arena::new(ArenaConfig { budget_bytes: 100, allow_unlocked: false }),
            Err(SecretError::BudgetExceeded { budget_bytes: 100, .. })
        ));
    }

    #[test]
    fn budget_is_enforced_and_freeing_makes_room() {
        let budget = 2 * CHUNK_BYTES;
        let arena = new_arena(budget);
        let mut held = Vec::new();
        let err = loop {
            match arena.alloc(4096) {
                Ok(s) => held.push(s),
                Err(e) => break e,
            }
        };
        assert_eq!(held.len(), budget / 4096);
        assert_eq!(
            err,
            SecretError::BudgetExceeded { budget_bytes: budget, reserved_bytes: budget, requested_bytes: CHUNK_BYTES }
        );
        let msg = err.to_string();
        assert!(msg.contains("budget of 131072 bytes"), "{msg}");
        assert_eq!(arena.stats().reserved_bytes, budget);
        assert!(matches!(arena.alloc(16), Err(SecretError::BudgetExceeded { .. })));
        assert!(matches!(arena.alloc_many(2, 4096), Err(SecretError::BudgetExceeded { .. })));

        // Freeing one slot makes room for exactly one more of its class.
        held.pop();
        held.push(arena.alloc(3000).unwrap());
        assert!(arena.alloc(4096).is_err());

        // Freeing all lets another class reuse the chunks.
        drop(held);
        assert_eq!(arena.stats().slots_in_use, 0);
        let small = arena.alloc_many(budget / 32, 32).unwrap();
        assert_eq!(small.len(), budget / 32);
        assert!(arena.alloc(1).is_err());
        assert_eq!(arena.stats().reserved_bytes, budget);
        drop(small);
        // Both chunks are now all-free class-32 chunks: one is taken back for class 4096,
        // the other keeps serving class 32, and a third class finds no room.
        let big = arena.alloc(4096).unwrap();
        let tiny = arena.alloc(32).unwrap();
        assert!(matches!(arena.alloc(64), Err(SecretError::BudgetExceeded { .. })));
        assert_eq!(big.expose_secret(), &[0; 4096][..]);
        assert_eq!(tiny.expose_secret(), &[0; 32][..]);
        // alloc_many larger than the whole budget fails without touching the arena.
        assert!(matches!(arena.alloc_many(usize::MAX, 32), Err(SecretError::BudgetExceeded { .. })));
        assert_eq!(arena.stats().slots_in_use, 2);
    }

    #[test]
    fn alloc_many_is_all_or_nothing() {
        let arena = new_arena(CHUNK_BYTES);
        let keep = arena.alloc_many(10, 4096).unwrap();
        assert!(matches!(arena.alloc_many(7, 4096), Err(SecretError::BudgetExceeded { .. })));
        assert_eq!(arena.stats().slots_in_use, 10);
        assert_eq!(arena.alloc_many(6, 4096).unwrap().len(), 6);
        drop(keep);
        assert!(arena.alloc_many(0, 4096).unwrap().is_empty());
    }

    #[test]
    fn alloc_many_gives_distinct_zeroed_slots() {
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let mut many = arena.alloc_many(1000, 40).unwrap();
        assert_eq!(arena.stats().slots_in_use, 1000);
        let ptrs: HashSet<usize> = many.iter().map(|s| s.slot_ptr().0.as_ptr() as usize).collect();
        assert_eq!(ptrs.len(), 1000);
        for (i, s) in many.iter_mut().enumerate() {
            assert_eq!(s.len(), 40);
            assert!(s.expose_secret().iter().all(|&b| b == 0));
            s.expose_secret_mut().fill(i as u8);
        }
        for (i, s) in many.iter().enumerate() {
            assert!(s.expose_secret().iter().all(|&b| b == i as u8));
        }
        drop(many);
        assert_eq!(arena.stats().slots_in_use, 0);
    }

    #[test]
    fn concurrent_alloc_free_never_aliases() {
        const THREADS: usize = 8;
        const ROUNDS: usize = 3000;
        let arena = new_arena(DEFAULT_BUDGET_BYTES);
        let live = Arc::new(Mutex::new(HashSet::new()));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let arena = arena.clone();
                let live = Arc::clone(&live);
                std::thread::spawn(move || {
                    let mut mine: Vec<(SecretBytes, u8)> = Vec::new();
                    for i in 0..ROUNDS {
                        let len = (i * 37 + t * 101) % (MAX_SECRET_LEN + 1);
                        let pattern = (t * 31 + i) as u8 | 1;
                        let mut s = if i % 5 == 0 {
                            arena.alloc_many(2, len).unwrap().pop().unwrap()
                        } else {
                            arena.alloc(len).unwrap()
                        };
                        assert!(s.expose_secret().iter().all(|&b| b == 0));
                        assert!(live.lock().insert(s.slot_ptr().0.as_ptr() as usize));
                        s.expose_secret_mut().fill(pattern);
                        mine.push((s, pattern));
                        if mine.len() > 12 || i % 3 == 0 {
                            let (s, pattern) = mine.swap_remove((i * 7) % mine.len());
                            assert!(s.expose_secret().iter().all(|&b| b == pattern));
                            assert!(live.lock().remove(&(s.slot_ptr().0.as_ptr() as usize)));
                            drop(s);
                        }
                    }
                    for (s, pattern) in mine {
                        assert!(s.expose_secret().iter().all(|&b| b == pattern));
                        assert!(live.lock().remove(&(s.slot_ptr().0.as_ptr() as usize)));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(arena.stats().slots_in_use, 0);
        assert!(live.lock().is_empty());
    }

    #[test]
    fn error_messages() {
        let e = SecretError::LockFailed {
            bytes: 65536,
            locked_bytes: 0,
            rlimit_memlock: Some(16384),
            os_error: Some(libc::ENOMEM),
        };
        let msg = e.to_string();
        assert!(msg.starts_with("cannot lock memory for key material: mlock of 65536 bytes failed ("));
        assert!(msg.contains("RLIMIT_MEMLOCK is 16384 bytes"), "{msg}");
        assert!(msg.contains("ulimit -l"), "{msg}");
        assert!(msg.contains("allow_unlocked"), "{msg}");
        let e: Box<dyn Error> =
            Box::new(SecretError::BudgetExceeded { budget_bytes: 1, reserved_bytes: 2, requested_bytes: 3 });
        assert_eq!(
            e.to_string(),
            "locked-memory budget of 1 bytes exceeded: 2 bytes are mapped for secrets and \
             another 3 bytes would be needed; release secrets or raise \
             ArenaConfig::budget_bytes"
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc(usize),
        AllocMany(usize, usize),
        Clone(prop::sample::Index),
        Write(prop::sample::Index, prop::sample::Index, u8),
        Drop(prop::sample::Index),
    }

    fn len_strategy() -> impl Strategy<Value = usize> {
        prop_oneof![Just(0), 1..=64usize, 0..=MAX_SECRET_LEN, Just(MAX_SECRET_LEN)]
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => len_strategy().prop_map(Op::Alloc),
            1 => (0..6usize, len_strategy()).prop_map(|(n, len)| Op::AllocMany(n, len)),
            1 => any::<prop::sample::Index>().prop_map(Op::Clone),
            2 => (any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>())
                .prop_map(|(i, at, b)| Op::Write(i, at, b)),
            3 => any::<prop::sample::Index>().prop_map(Op::Drop),
        ]
    }

    proptest! {
        #[test]
        fn model_alloc_write_drop(ops in prop::collection::vec(op_strategy(), 1..60)) {
            let arena = new_arena(DEFAULT_BUDGET_BYTES);
            let mut live: Vec<(SecretBytes, Vec<u8>)> = Vec::new();
            let mut counter = 0u8;
            for op in ops {
                match op {
                    Op::Alloc(len) => {
                        let s = arena.alloc(len).unwrap();
                        live.push((s, vec![0; len]));
                    }
                    Op::AllocMany(n, len) => {
                        for s in arena.alloc_many(n, len).unwrap() {
                            live.push((s, vec![0; len]));
                        }
                    }
                    Op::Clone(i) if !live.is_empty() => {
                        let (s, model) = &live[i.index(live.len())];
                        let c = s.try_clone().unwrap();
                        let model = model.clone();
                        live.push((c, model));
                    }
                    Op::Write(i, at, b) if !live.is_empty() => {
                        let n = live.len();
                        let (s, model) = &mut live[i.index(n)];
                        if !model.is_empty() {
                            let at = at.index(model.len());
                            for (k, (x, m)) in s.expose_secret_mut()[at..]
                                .iter_mut()
                                .zip(&mut model[at..])
                                .enumerate()
                            {
                                *x = b.wrapping_add(k as u8).wrapping_add(counter);
                                *m = *x;
                            }
                            counter = counter.wrapping_add(1);
                        }
                    }
                    Op::Drop(i) if !live.is_empty() => {
                        let n = live.len();
                        drop(live.swap_remove(i.index(n)));
                    }
                    _ => {}
                }
                prop_assert_eq!(arena.stats().slots_in_use, live.len());
                for (s, model) in &live {
                    prop_assert_eq!(s.len(), model.len());
                    prop_assert_eq!(s.expose_secret(), &model[..]);
                }
            }
            drop(live);
            prop_assert_eq!(arena.stats().slots_in_use, 0);
        }
    }
}
