//! Counters shared by the event-loop threads, and per-thread latency
//! histograms merged at the end.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use hdrhistogram::Histogram;

#[derive(Default)]
pub struct Counters {
    /// Past the warm-up: counts and latencies are recorded.
    pub measuring: AtomicBool,
    /// Sending stops (duration or message count reached).
    pub stopping: AtomicBool,
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    pub mismatches: AtomicU64,
    pub connected: AtomicU64,
    pub connection_errors: AtomicU64,
}

impl Counters {
    pub fn get(&self, counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Round-trip latencies in microseconds, 1 µs to 100 s, 3 significant
/// digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid bounds")
}

/// Where each thread leaves its histogram when it is done.
#[derive(Default)]
pub struct Latencies(pub Mutex<Vec<Histogram<u64>>>);

impl Latencies {
    pub fn merged(&self) -> Histogram<u64> {
        let mut all = histogram();
        for h in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            all.add(h).expect("same bounds");
        }
        all
    }
}
