//! Admission control: whether a receiver may start reading a request at all.
//!
//! `memory_limiter` only sees a request once a receiver has read, decompressed and validated
//! all of it, so while it refuses, every request in flight is still buffered in full, and the
//! memory taken by requests being read is bounded by nothing but the senders. This module lets
//! receivers refuse **before** the body is read:
//!
//! - **Memory pressure.** Each running `memory_limiter` holds a [`PressureSource`] and says
//!   when it starts and stops refusing. [`Admission::under_pressure`] is true while any of them
//!   refuses; a receiver then answers UNAVAILABLE / 503 without touching the body.
//! - **A budget of request bytes.** A limiter also bounds the bytes of the requests that
//!   receivers hold between starting to read them and answering them (its spike limit: the
//!   memory it expects data in flight to take). A receiver reserves a request's size with
//!   [`Admission::try_reserve`] as soon as the size is known (Content-Length, the gRPC
//!   length prefix) and refuses when the budget is spent. Without a limiter there is no
//!   budget, as there is no limit to stay under.
//!
//! One [`Admission`] serves the whole process ([`Admission::global`]): the limiters and
//! receivers of a service are built by factories that have no other shared handle. It
//! holds no state of its own between services: a limiter's registration ends with its
//! `shutdown` (dropping the [`PressureSource`]), so a reloaded service starts clean. Tests
//! build private instances with [`Admission::new`] so that concurrent tests do not see each
//! other's pressure.
//!
//! ```
//! use runtime::admission::Admission;
//!
//! let admission = Admission::new();
//! let limiter = admission.register(Some(1000));
//! let first = admission.try_reserve(600).expect("within the budget");
//! assert!(admission.try_reserve(600).is_none(), "over the budget");
//! drop(first);
//! limiter.set_refusing(true);
//! assert!(admission.under_pressure());
//! drop(limiter); // a limiter that stops takes its pressure and budget with it
//! assert!(!admission.under_pressure());
//! assert!(admission.try_reserve(10_000).is_some());
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// The admission state shared by the limiters and receivers of a process (or of a test).
#[derive(Clone, Default)]
pub struct Admission {
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    /// How many registered limiters refuse right now.
    refusing: AtomicUsize,
    /// Bytes reserved by requests being read or handled.
    reserved: AtomicU64,
    /// The smallest budget of the registered limiters; 0: no budget.
    budget: AtomicU64,
    /// Each registration's budget, to recompute `budget` when one ends.
    budgets: Mutex<Vec<(u64, u64)>>,
    next_id: AtomicU64,
}

static GLOBAL: LazyLock<Admission> = LazyLock::new(Admission::new);

impl Admission {
    /// A private instance (tests; embedding several services in one process).
    pub fn new() -> Admission {
        Admission::default()
    }

    /// The process-wide instance used by the components built from a configuration.
    pub fn global() -> &'static Admission {
        &GLOBAL
    }

    /// True while at least one registered limiter refuses data.
    pub fn under_pressure(&self) -> bool {
        self.state.refusing.load(Ordering::Relaxed) > 0
    }

    /// Registers a limiter. `read_budget`: the bytes of requests receivers may hold at once
    /// while this limiter runs (`None`: this limiter sets no budget). With several limiters,
    /// the smallest budget applies.
    pub fn register(&self, read_budget: Option<u64>) -> PressureSource {
        let id = self.state.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(budget) = read_budget.filter(|b| *b > 0) {
            let mut budgets = self.budgets();
            budgets.push((id, budget));
            self.update_budget(&budgets);
        }
        PressureSource {
            admission: self.clone(),
            id,
            refusing: AtomicBool::new(false),
        }
    }

    /// The byte budget in force, if any.
    pub fn read_budget(&self) -> Option<u64> {
        match self.state.budget.load(Ordering::Relaxed) {
            0 => None,
            b => Some(b),
        }
    }

    /// Bytes reserved by requests right now.
    pub fn reserved(&self) -> u64 {
        self.state.reserved.load(Ordering::Relaxed)
    }

    /// Reserves `bytes` for a request about to be read, or `None` when that would exceed
    /// the budget. A request is always admitted when nothing else is reserved, so that one
    /// larger than the whole budget is slow, not refused forever.
    pub fn try_reserve(&self, bytes: u64) -> Option<Reservation> {
        self.try_add(bytes).then(|| Reservation {
            admission: self.clone(),
            bytes,
        })
    }

    fn try_add(&self, bytes: u64) -> bool {
        let budget = self.state.budget.load(Ordering::Relaxed);
        self.state
            .reserved
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |reserved| {
                let after = reserved.saturating_add(bytes);
                (budget == 0 || reserved == 0 || after <= budget).then_some(after)
            })
            .is_ok()
    }

    fn budgets(&self) -> std::sync::MutexGuard<'_, Vec<(u64, u64)>> {
        self.state.budgets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update_budget(&self, budgets: &[(u64, u64)]) {
        let smallest = budgets.iter().map(|(_, b)| *b).min().unwrap_or(0);
        self.state.budget.store(smallest, Ordering::Relaxed);
    }
}

/// One limiter's say in the admission state. Dropping it withdraws its pressure and budget.
pub struct PressureSource {
    admission: Admission,
    id: u64,
    refusing: AtomicBool,
}

impl PressureSource {
    /// Records whether this limiter refuses data now. Cheap when nothing changes.
    pub fn set_refusing(&self, refusing: bool) {
        if self.refusing.swap(refusing, Ordering::Relaxed) == refusing {
            return;
        }
        let counter = &self.admission.state.refusing;
        if refusing {
            counter.fetch_add(1, Ordering::Relaxed);
        } else {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for PressureSource {
    fn drop(&mut self) {
        self.set_refusing(false);
        let mut budgets = self.admission.budgets();
        let before = budgets.len();
        budgets.retain(|(id, _)| *id != self.id);
        if budgets.len() != before {
            self.admission.update_budget(&budgets);
        }
    }
}

/// Bytes reserved for one request; given back when dropped.
pub struct Reservation {
    admission: Admission,
    bytes: u64,
}

impl Reservation {
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Reserves `more` bytes for the same request, or returns false (reserving nothing)
    /// when that would exceed the budget.
    pub fn try_grow(&mut self, more: u64) -> bool {
        let ok = self.admission.try_add(more);
        if ok {
            self.bytes += more;
        }
        ok
    }

    /// Accounts for `total` bytes held by this request even beyond the budget: for memory
    /// already taken (a body that decompressed to more than its wire size), so that the
    /// requests after it see the real figure.
    pub fn grow_to(&mut self, total: u64) {
        if let Some(more) = total.checked_sub(self.bytes).filter(|m| *m > 0) {
            self.admission
                .state
                .reserved
                .fetch_add(more, Ordering::Relaxed);
            self.bytes = total;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.admission
            .state
            .reserved
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressure_holds_while_any_limiter_refuses() {
        let a = Admission::new();
        let (x, y) = (a.register(None), a.register(None));
        assert!(!a.under_pressure());
        x.set_refusing(true);
        y.set_refusing(true);
        x.set_refusing(true); // repeated verdicts count once
        assert!(a.under_pressure());
        x.set_refusing(false);
        assert!(a.under_pressure(), "y still refuses");
        y.set_refusing(false);
        assert!(!a.under_pressure());
        y.set_refusing(false);
        assert!(!a.under_pressure(), "no underflow on repeated clears");
    }

    #[test]
    fn a_limiter_that_stops_while_refusing_releases_the_pressure() {
        let a = Admission::new();
        let x = a.register(Some(100));
        x.set_refusing(true);
        assert!(a.under_pressure());
        drop(x);
        assert!(!a.under_pressure());
        assert_eq!(a.read_budget(), None);
    }

    #[test]
    fn the_smallest_budget_applies_and_is_recomputed_when_a_limiter_stops() {
        let a = Admission::new();
        assert_eq!(a.read_budget(), None);
        let big = a.register(Some(1000));
        let none = a.register(None);
        let small = a.register(Some(300));
        assert_eq!(a.read_budget(), Some(300));
        drop(small);
        assert_eq!(a.read_budget(), Some(1000));
        drop(none);
        assert_eq!(a.read_budget(), Some(1000));
        drop(big);
        assert_eq!(a.read_budget(), None);
    }

    #[test]
    fn reservations_are_refused_past_the_budget_and_given_back_on_drop() {
        let a = Admission::new();
        let _limiter = a.register(Some(100));
        let r1 = a.try_reserve(60).expect("fits");
        assert!(a.try_reserve(41).is_none());
        let r2 = a.try_reserve(40).expect("fits exactly");
        assert_eq!(a.reserved(), 100);
        drop(r1);
        assert_eq!(a.reserved(), 40);
        drop(r2);
        assert_eq!(a.reserved(), 0);
    }

    #[test]
    fn a_request_larger_than_the_budget_is_admitted_alone() {
        let a = Admission::new();
        let _limiter = a.register(Some(100));
        let big = a.try_reserve(500).expect("nothing else reserved");
        assert!(a.try_reserve(1).is_none(), "the budget is spent");
        drop(big);
        assert!(a.try_reserve(1).is_some());
    }

    #[test]
    fn without_a_budget_everything_is_admitted_and_still_counted() {
        let a = Admission::new();
        let r1 = a.try_reserve(u64::MAX / 2).expect("no budget");
        let r2 = a.try_reserve(10).expect("no budget");
        assert_eq!(a.reserved(), u64::MAX / 2 + 10);
        drop((r1, r2));
        assert_eq!(a.reserved(), 0);
    }

    #[test]
    fn reservations_grow_within_the_budget_or_beyond_it_when_forced() {
        let a = Admission::new();
        let _limiter = a.register(Some(100));
        let mut r = a.try_reserve(50).expect("fits");
        assert!(r.try_grow(30));
        assert!(!r.try_grow(30), "110 > 100");
        assert_eq!(r.bytes(), 80);
        r.grow_to(150);
        assert_eq!(a.reserved(), 150);
        r.grow_to(120); // never shrinks
        assert_eq!(r.bytes(), 150);
        assert!(a.try_reserve(1).is_none());
        drop(r);
        assert_eq!(a.reserved(), 0);
    }

    #[test]
    fn concurrent_reservations_never_exceed_the_budget() {
        let a = Admission::new();
        let _limiter = a.register(Some(1000));
        let peak = Arc::new(AtomicU64::new(0));
        std::thread::scope(|s| {
            for _ in 0..4 {
                let (a, peak) = (a.clone(), peak.clone());
                s.spawn(move || {
                    for _ in 0..10_000 {
                        if let Some(r) = a.try_reserve(300) {
                            peak.fetch_max(a.reserved(), Ordering::Relaxed);
                            drop(r);
                        }
                    }
                });
            }
        });
        assert!(peak.load(Ordering::Relaxed) <= 1000);
        assert_eq!(a.reserved(), 0);
    }
}
