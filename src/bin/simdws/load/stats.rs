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
    /// Messages whose echo never came (their connections closed first).
    pub unanswered: AtomicU64,
    /// When the run stopped, in µs since the start (0 while it runs): a
    /// message unanswered then is timed up to it.
    pub stopped_at_us: AtomicU64,
    /// When measuring began, in µs since the start: only echoes of messages
    /// sent from then on are counted.
    pub measured_from_us: AtomicU64,
    /// Messages still to send while measuring (`--messages N`), so the run
    /// sends exactly N, not whatever a periodic check lets through.
    pub to_send: AtomicU64,
    /// The most echoes to count (`--messages N`): a message stamped as the
    /// measurement began may have been sent before a loop saw it begin.
    pub to_count: AtomicU64,
    /// Whether there is a budget (`--messages N`). Without one, the two
    /// budgets above are not counted down: that is two atomic updates per
    /// message the load's own core need not spend.
    pub budgeted: AtomicBool,
}

impl Counters {
    /// Starts measuring at `now_us`, with `budget` messages to send.
    pub fn start_measuring(&self, now_us: u64, budget: Option<u64>) {
        self.to_send
            .store(budget.unwrap_or(u64::MAX), Ordering::SeqCst);
        self.to_count
            .store(budget.unwrap_or(u64::MAX), Ordering::SeqCst);
        self.budgeted.store(budget.is_some(), Ordering::SeqCst);
        self.measured_from_us.store(now_us, Ordering::SeqCst);
        self.measuring.store(true, Ordering::SeqCst);
    }

    /// Whether one more measured echo may be counted (and takes its place).
    pub fn may_count(&self) -> bool {
        if !self.budgeted.load(Ordering::Relaxed) {
            return true;
        }
        self.to_count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Claims one more message to send, stamped `now_us`: always during the
    /// warm-up, then while the budget lasts. Returns the stamp to send it
    /// with, or `None` when the budget is spent.
    ///
    /// A message that takes a place in the budget is stamped no earlier than
    /// the moment measuring began, so its echo is counted: a loop may read
    /// its clock just before measuring begins and claim just after, and a
    /// budgeted message whose echo is not counted would leave the run one
    /// echo short of `--messages` forever.
    pub fn claim_send(&self, now_us: u64) -> Option<u64> {
        if !self.measuring.load(Ordering::SeqCst) {
            return Some(now_us);
        }
        if !self.budgeted.load(Ordering::SeqCst) {
            return Some(now_us.max(self.measured_from_us.load(Ordering::SeqCst)));
        }
        self.to_send
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .ok()?;
        Some(now_us.max(self.measured_from_us.load(Ordering::SeqCst)))
    }

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

#[cfg(test)]
mod tests {
    use super::Counters;

    #[test]
    fn every_budgeted_message_is_stamped_to_be_counted() {
        let counters = Counters::default();
        assert_eq!(counters.claim_send(5), Some(5), "warm-up sends go as read");
        counters.start_measuring(1_000, Some(2));
        // Read its clock before measuring began, claimed after: stamped at
        // the start, so its echo counts and the run can reach its count.
        assert_eq!(counters.claim_send(900), Some(1_000));
        assert_eq!(counters.claim_send(2_000), Some(2_000));
        assert_eq!(counters.claim_send(3_000), None, "the budget is spent");
        assert!(counters.may_count() && counters.may_count() && !counters.may_count());
    }
}
