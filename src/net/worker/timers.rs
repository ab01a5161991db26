//! The coarse timer sweep, once per tick: request and handshake deadlines,
//! the protocol's keepalive, idle and close deadlines, lingering closes,
//! resting idle connections, and the worker's published counts.

use std::time::Instant;

use super::{Outcome, Worker};
use crate::handshake::Rejection;
use crate::http::http_date;
use crate::net::close::{CloseReason, Deadline};
use crate::net::handler::Handler;
use crate::net::http::Wait;
use crate::net::session::Phase;

/// How many connections must have ended or gone to rest since the last trim
/// before a sweep trims the heap: a burst of handshakes leaves freed memory
/// between the connections that stay, and one trim per such burst gives it
/// back, while a steady trickle does not pay for a trim every tick.
const TRIM_AFTER: usize = 1024;

/// A smaller burst is trimmed for too, at its end: the first sweep that
/// frees nothing (no connection rested or ended in it) trims once this
/// many have ended or rested since the last trim. Without it, up to
/// `TRIM_AFTER - 1` connections' freed memory could stay resident after a
/// burst (measured: 170-270 B per idle connection at 10,000 opened by
/// `simdws load --idle`, by where the last trim fell; 161-182 B with it).
const TRIM_WHEN_QUIET_AFTER: usize = 64;

/// Whether a sweep trims the heap, with `freed` connections ended or
/// rested since the last trim, `freed_in_sweep` of them in this sweep.
fn should_trim(freed: usize, freed_in_sweep: usize) -> bool {
    freed >= TRIM_AFTER || (freed_in_sweep == 0 && freed >= TRIM_WHEN_QUIET_AFTER)
}

impl<H: Handler> Worker<H> {
    /// The coarse sweep: handshake deadlines, protocol timers (keepalive,
    /// idle, close handshake) and lingering closes.
    pub(super) fn sweep(&mut self, now: Instant) {
        self.date = http_date(std::time::SystemTime::now());
        let freed_before = self.freed_since_trim;
        // By slot rather than over a list of keys: a list as long as the
        // slab would be allocated on top of the connections' memory, and
        // keep the heap below it from shrinking when they rest.
        for key in 0..self.sessions.capacity() {
            let Some(session) = self.sessions.get_mut(key) else {
                continue;
            };
            let active = std::mem::take(&mut session.active);
            match &mut session.phase {
                Phase::Http(http) => match http.due(now) {
                    Some(Wait::Idle) => {
                        log::debug!("{}: keep-alive connection idle: closing", session.id);
                        self.settle(key, Outcome::End);
                    }
                    Some(wait @ (Wait::Head | Wait::Body)) => {
                        let what = if wait == Wait::Head {
                            "request head"
                        } else {
                            "request body"
                        };
                        log::debug!("{}: {what} timeout from {:?}", session.id, session.peer());
                        session.finish_with(
                            &Rejection::Timeout(format!("{what} not received in time").into())
                                .response(),
                        );
                        self.flush_out(key);
                    }
                    None if !active => {
                        http.release_buffers();
                        session.release_raw_output();
                    }
                    None => {}
                },
                Phase::Connecting { .. } if now >= session.handshake_deadline => {
                    session.note_close(CloseReason::Timeout(Deadline::Connect));
                    self.settle(key, Outcome::End);
                }
                Phase::Open(conn) => {
                    if conn.poll_timeout().is_some_and(|t| t <= now) {
                        conn.handle_timeout(now);
                        self.flush_out(key);
                    } else if !active {
                        // Idle for a whole tick: at rest when nothing is in
                        // flight, else its (empty) payload buffers go back
                        // to the allocator.
                        conn.release_buffers();
                        // Counted when it goes to rest, once: a connection
                        // that stays open (a client's) is idle every tick.
                        if session.rest(now) {
                            self.freed_since_trim += 1;
                        }
                    }
                }
                Phase::Resting(resting)
                    if resting
                        .poll_timeout(&self.config.protocol)
                        .is_some_and(|t| t <= now) =>
                {
                    if let Some(conn) = session.woken_connection(&self.config.protocol) {
                        conn.handle_timeout(now);
                    }
                    self.flush_out(key);
                }
                Phase::Draining { until } if now >= *until => self.settle(key, Outcome::End),
                _ => {}
            }
        }
        self.shrink_if_mostly_vacant();
        if should_trim(self.freed_since_trim, self.freed_since_trim - freed_before) {
            self.freed_since_trim = 0;
            crate::net::heap::give_back_free_memory();
        }
        self.publish_stats();
        if self.accept_stalled {
            self.accept_all();
        }
    }

    fn publish_stats(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let (mut open, mut resting) = (0, 0);
        for (_, session) in &self.sessions {
            open += session.is_open() as usize;
            resting += matches!(session.phase, Phase::Resting(_)) as usize;
        }
        let mailbox = self.handle.mailbox(self.index);
        mailbox.open.store(open, Relaxed);
        mailbox.resting.store(resting, Relaxed);
        let (topics, subscriptions) = self.topics.counts();
        mailbox.topics.store(topics, Relaxed);
        mailbox.subscriptions.store(subscriptions, Relaxed);
    }

    /// After a burst (a flood of short connections), give back the slab
    /// space it left behind, so memory returns to what the connections
    /// alive now need.
    fn shrink_if_mostly_vacant(&mut self) {
        const KEEP: usize = 1024;
        if self.sessions.capacity() > KEEP && self.sessions.len() * 4 < self.sessions.capacity() {
            self.sessions.shrink_to_fit();
        }
    }

    // ----- commands from other threads -------------------------------------
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_trimmed_for_at_its_size_or_at_its_end() {
        // During a large burst: at its size, whatever this sweep freed.
        assert!(should_trim(TRIM_AFTER, 10));
        assert!(!should_trim(TRIM_AFTER - 1, 10));
        // A smaller burst, at the first sweep that frees nothing more.
        assert!(should_trim(TRIM_WHEN_QUIET_AFTER, 0));
        assert!(!should_trim(TRIM_WHEN_QUIET_AFTER, 1));
        // A trickle too small to be worth a trim.
        assert!(!should_trim(TRIM_WHEN_QUIET_AFTER - 1, 0));
    }
}
