//! How the process allocates and gives memory back.
//!
//! The global allocator is mimalloc, set to commit its arenas page by page
//! (`arena_eager_commit` 0), with a `purge_delay` of 100 ms. Measured side by side with
//! glibc's allocator on one machine in one session (2026-11-30; bench/run.sh, bench/filelog.sh
//! and bench/scrape.sh, one pinned core): filelog -> Loki 163k -> 206k lines per CPU-second
//! (+26 %, RSS 20 -> 22 MiB); scrape -> remote write of 100k series 8.4 -> 5.2 CPU-s per
//! million samples (-38 %, RSS 252 -> 200 MiB); OTLP pass-through and 10k spans/s steady load
//! equal within the noise, idle RSS 12.0 -> 12.9 MiB. The paths that build many small
//! values (parsed log entries, scraped series) spend half their time in glibc's malloc/free
//! (fastbin consolidation, frees from other threads' arenas). mimalloc's defaults were
//! rejected earlier for doubling idle and peak RSS (9 -> 21 MiB idle): committing arenas
//! lazily is what brings that back. Those figures were taken with `purge_delay` 0; purging at
//! once then showed up as page faults on every scrape, and the 10 ms default measured 7 %
//! cheaper again on both paths (filelog 206k -> 221k lines per CPU-s, scrape 5.2 -> 4.9 CPU-s
//! per 1M samples) with the same idle RSS (11.7 MiB). 100 ms instead (2026-12-03, side by
//! side, bench/filelog-ab.sh): filelog -> Loki -2.6 % CPU per line at the same peak RSS
//! (22.9 MiB): a node agent frees each push body a few ms after it was made, and more than
//! 10 ms later the same pages were faulted in again; scrape -> remote write peak RSS 91.3 and
//! 91.9 -> 92.5 and 94.1 MiB (one run each, CPU within that benchmark's noise). A delay of
//! seconds saves more (-3.7 % at 1 s) but keeps a burst's memory resident for as long.
//!
//! C code (zstd, the TLS stack) still allocates through glibc, which keeps its tuning:
//! - large buffers are mapped on their own and unmapped when freed (`M_MMAP_THRESHOLD`),
//!   instead of growing the heap;
//! - at most two arenas (`M_ARENA_MAX`): one per worker thread only multiplies retained pages;
//! - every few seconds, freed heap pages are handed back (`malloc_trim`).

use std::time::Duration;

/// mimalloc's options, set before the first allocation (a constructor, so that the arena the
/// first allocation reserves is already lazily committed): arenas are committed page by page
/// as they are used rather than up front; freed memory goes back after 100 ms (mimalloc's
/// default is 10 ms).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static MIMALLOC_OPTIONS: extern "C" fn() = mimalloc_options;

extern "C" fn mimalloc_options() {
    use libmimalloc_sys::{mi_option_set, mi_option_t};
    // Positions in mimalloc.h's `mi_option_e` (the same in its v2 and v3); libmimalloc-sys
    // names only some of the options.
    const ARENA_EAGER_COMMIT: mi_option_t = 4;
    const PURGE_DELAY: mi_option_t = 15;
    // SAFETY: mi_option_set only stores an option value; it runs before main, on one thread.
    // `MIMALLOC_PURGE_DELAY`, when set, is left to mimalloc (for measuring other delays).
    unsafe {
        // (getenv, not std::env: nothing may allocate before the options are set.)
        if libc::getenv(c"MIMALLOC_PURGE_DELAY".as_ptr()).is_null() {
            mi_option_set(PURGE_DELAY, 100);
        }
        mi_option_set(ARENA_EAGER_COMMIT, 0);
    }
}

/// Applies the allocator settings; call first thing in `main`, before any thread starts.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets glibc allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Hands freed heap pages back to the system every `every`, until the runtime stops.
pub fn spawn_trimmer(every: Duration) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // SAFETY: malloc_trim walks glibc's own arenas under their locks.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = every;
}
