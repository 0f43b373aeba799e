//! The per-line parsers must not allocate on success: a counting allocator watches the two
//! timestamp layouts of the seed configs and a severity lookup.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // Per thread: the test harness's own threads allocate whenever they like (output
    // capture, timers), which a process-wide count would charge to the parsers.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: the thread-local may already be gone while a thread exits.
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn seed_layouts_and_severity_lookup_do_not_allocate() {
    let strptime = stanza::time::TimeParser::new("strptime", "%Y-%m-%dT%H:%M:%S.%LZ", None)
        .expect("valid layout");
    let gotime =
        stanza::time::TimeParser::new("gotime", "2006-01-02T15:04:05.999999999Z07:00", None)
            .expect("valid layout");
    let sev = stanza::severity::SeverityParser::new("", &Default::default(), true)
        .expect("default preset");
    // Warm up lazily initialised state (the local zone).
    let _ = gotime.parse_str("2024-05-06T07:08:09.5+02:00");

    let before = allocs();
    let mut sum = 0i64;
    for _ in 0..100 {
        sum = sum.wrapping_add(strptime.parse_str("2024-05-06T07:08:09.123Z").unwrap_or(0));
        sum = sum.wrapping_add(
            gotime
                .parse_str("2024-05-06T07:08:09.123456789Z")
                .unwrap_or(0),
        );
        sum = sum.wrapping_add(gotime.parse_str("2024-05-06T07:08:09.5+02:00").unwrap_or(0));
        sum = sum.wrapping_add(i64::from(sev.parse_str("Warning").0));
    }
    let after = allocs();
    assert_ne!(sum, 0);
    assert_eq!(after - before, 0, "allocations on the hot path");
}
