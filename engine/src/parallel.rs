//! The threads the engine's parallel work runs on: one rayon pool per process.
//!
//! Batches ([`Kms::generate_data_keys`](crate::Kms::generate_data_keys) and the other batch
//! methods) and envelope chunks run on a pool of the engine's own rather than on rayon's global
//! pool, because a pool's threads do not survive `fork()`: in a child, work handed to a pool
//! its parent had started would wait forever for threads that exist only in the parent. So the
//! pool belongs to a process ([`fork::generation`]): a child's first parallel call starts a
//! pool of its own (the parent's is left alone, never touched there). The pool's size is
//! rayon's default: `RAYON_NUM_THREADS`, else one thread per CPU.

use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::secret::fork;

/// The engine's pool and the process it belongs to.
struct Pool {
    generation: u64,
    threads: rayon::ThreadPool,
}

static POOL: ArcSwapOption<Pool> = ArcSwapOption::const_empty();

/// Runs `op` inside this process's pool, so its parallel iterators run on the pool's threads.
/// If no pool can be started (threads refused by the system), runs `op` on the calling thread,
/// where rayon's parallel iterators use the global pool.
pub(crate) fn install<R: Send>(op: impl FnOnce() -> R + Send) -> R {
    match pool() {
        Some(pool) => pool.threads.install(op),
        None => op(),
    }
}

/// The number of threads [`install`] runs on.
pub(crate) fn threads() -> usize {
    pool().map_or_else(rayon::current_num_threads, |p| p.threads.current_num_threads())
}

/// This process's pool, started at the first call in each process.
fn pool() -> Option<Arc<Pool>> {
    let generation = fork::generation();
    loop {
        let current = POOL.load_full();
        if let Some(pool) = current.as_ref().filter(|p| p.generation == generation) {
            return Some(Arc::clone(pool));
        }
        let threads = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("trent-{i}")).build().ok()?;
        let fresh = Arc::new(Pool { generation, threads });
        let previous = POOL.compare_and_swap(&current, Some(Arc::clone(&fresh)));
        if !ptr_eq(&previous, &current) {
            drop(previous);
            // Another thread of this process started one first: use that (the loop reloads it).
            continue;
        }
        if let Some(inherited) = current {
            // The pool of the process this one was forked from: its threads are not here, and
            // dropping it would wake and wait for them. Leave it be.
            std::mem::forget(inherited);
        }
        return Some(fresh);
    }
}

fn ptr_eq(a: &Option<Arc<Pool>>, b: &Option<Arc<Pool>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}
