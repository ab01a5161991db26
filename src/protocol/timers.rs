//! Keepalive, idle and close-handshake deadlines, driven by the instants the
//! caller passes in: the protocol never reads the clock, so tests are exact.

use std::time::{Duration, Instant};

use super::config::Config;

#[derive(Debug)]
pub(crate) struct Timers {
    /// The latest instant we were given.
    now: Instant,
    /// When input last arrived, as of the latest `advance`.
    last_input: Instant,
    /// Input arrived since the latest `advance`.
    input_seen: bool,
    last_ping: Instant,
    ping_interval: Option<Duration>,
    idle_timeout: Option<Duration>,
    close_timeout: Duration,
    /// Our close was sent and its deadline is not armed yet: it is armed at
    /// the next `advance`, which `next_deadline` asks for at once.
    close_pending: bool,
    close_deadline: Option<Instant>,
    pub close_timed_out: bool,
    /// No deadline can fall due: neither keepalive nor idle timeout is
    /// configured, and our close was not sent. `next_deadline` is asked
    /// after every read, and this makes its usual answer one test.
    quiet: bool,
}

/// What fell due in one `advance`.
#[derive(Debug, Default)]
pub(crate) struct Due {
    pub close_timed_out: bool,
    pub idle: bool,
    pub ping: bool,
}

impl Timers {
    pub fn new(config: &Config, now: Instant) -> Self {
        Timers {
            now,
            last_input: now,
            input_seen: false,
            last_ping: now,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            close_timeout: config.close_timeout,
            close_pending: false,
            close_deadline: None,
            close_timed_out: false,
            quiet: config.ping_interval.is_none() && config.idle_timeout.is_none(),
        }
    }

    /// Timers that go on from `last_input` and `last_ping` (of a connection
    /// that rested), as of `now`.
    pub fn resumed(config: &Config, now: Instant, last_input: Instant, last_ping: Instant) -> Self {
        Timers {
            last_input,
            last_ping,
            ..Timers::new(config, now)
        }
    }

    /// Folds in the input seen since the last `advance` (without running any
    /// timer) and returns `(last_input, last_ping)`: all a connection at
    /// rest must keep of its timers.
    pub fn keepalive_state(&mut self, now: Instant) -> (Instant, Instant) {
        if std::mem::take(&mut self.input_seen) {
            self.last_input = self.now.max(now);
        }
        (self.last_input, self.last_ping)
    }

    pub fn saw_input(&mut self) {
        self.input_seen = true;
    }

    pub fn close_sent(&mut self) {
        self.quiet = false;
        if self.close_deadline.is_none() {
            self.close_pending = true;
        }
    }

    #[inline]
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.quiet {
            return None; // the default: asked after every read, answered at once
        }
        if self.close_pending {
            return Some(self.now);
        }
        // Closing: keepalive and idle no longer apply (see `advance`), and a
        // deadline of theirs in the past would be handed out again and again.
        if let Some(deadline) = self.close_deadline {
            return Some(deadline);
        }
        if self.ping_interval.is_none() && self.idle_timeout.is_none() {
            return None;
        }
        // Computed from the last input we know of: if more arrived since,
        // the deadline fires early, `advance` moves it, and nothing happens.
        let ping = self
            .ping_interval
            .map(|every| self.last_input.max(self.last_ping) + every);
        let idle = self.idle_timeout.map(|limit| self.last_input + limit);
        [ping, idle].into_iter().flatten().min()
    }

    pub fn advance(&mut self, now: Instant) -> Due {
        self.now = self.now.max(now);
        let now = self.now;
        if self.input_seen {
            self.input_seen = false;
            self.last_input = now;
        }
        if self.close_pending {
            self.close_pending = false;
            self.close_deadline = Some(now + self.close_timeout);
        }
        let mut due = Due::default();
        if self.close_deadline.is_some_and(|deadline| now >= deadline) {
            self.close_timed_out = true;
            due.close_timed_out = true;
            return due;
        }
        if self.close_deadline.is_some() {
            return due; // closing: keepalive and idle no longer apply
        }
        if self
            .idle_timeout
            .is_some_and(|limit| now >= self.last_input + limit)
        {
            due.idle = true;
        } else if let Some(every) = self.ping_interval {
            if now >= self.last_input.max(self.last_ping) + every {
                self.last_ping = now;
                due.ping = true;
            }
        }
        due
    }
}
