//! Connection-state recovery: a client whose connection dropped comes back
//! with its old socket id and rooms, and gets the events it missed.
//!
//! While it is on, every event the server emits without asking for an ack
//! carries an offset as its last argument, and is kept in a log for
//! `max_disconnection_duration`. A socket that leaves for a reason other
//! than a namespace disconnect is saved under its private id (`pid`, sent
//! to the client in the CONNECT answer). A client that reconnects sends
//! its `pid` and the last offset it saw; the socket's id and rooms come
//! back, and the logged events it missed are sent again, in order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use compact_str::CompactString;
use serde_json::Value;

/// Connection-state recovery's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected socket can be recovered, and how long the
    /// events it might miss are kept (Node's default: 2 minutes).
    pub max_disconnection_duration: Duration,
    /// At most this many events are kept (the oldest go first), so a busy
    /// server's log stays bounded whatever the window. Node keeps no such
    /// bound.
    pub max_events: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            max_events: 100_000,
        }
    }
}

/// Who an event was for. Boxed parts keep a log entry small: the log
/// holds an entry for every event of the last minutes.
#[derive(Clone, Debug)]
pub(super) enum Audience {
    /// One socket, by its id (inline: ids are 20 characters).
    Socket(CompactString),
    /// A broadcast.
    Rooms(Box<Rooms>),
}

/// A broadcast's audience: the sockets in any of `rooms` (all, when
/// empty), less those in `except` and less the socket `except_socket`.
#[derive(Clone, Debug)]
pub(super) struct Rooms {
    pub(super) rooms: Vec<String>,
    pub(super) except: Vec<String>,
    pub(super) except_socket: Option<String>,
}

/// An event emitted while recovery is on, kept as its JSON text: that is
/// a fraction of the `Value`s' size, and it is read back only when a
/// client recovers.
#[derive(Clone, Debug)]
pub(super) struct Logged {
    pub(super) at: Instant,
    pub(super) offset: u64,
    pub(super) nsp: CompactString,
    pub(super) to: Audience,
    /// `[event, ...args]`, the offset the last argument.
    data: String,
    pub(super) binary: Box<[Vec<u8>]>,
}

/// A logged event as the log holds it: everything but its text, which is
/// in [`Recovery::texts`], so an entry is no heap block of its own. The
/// log keeps an entry per event of the last minutes, and an idle server
/// whose clients each got a greeting held little else.
#[derive(Debug)]
struct Kept {
    /// When it was emitted, in milliseconds after [`Recovery::epoch`].
    at: u64,
    offset: u64,
    /// Its namespace, as an index into [`Recovery::namespaces`].
    nsp: u32,
    to: Audience,
    binary: Box<[Vec<u8>]>,
    /// The length of its text.
    len: u32,
}

impl Logged {
    pub(super) fn new(
        at: Instant,
        offset: u64,
        nsp: &str,
        to: Audience,
        event: &str,
        args: &[Value],
        binary: &[Vec<u8>],
    ) -> Self {
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::String(event.to_owned()));
        data.extend_from_slice(args);
        Logged {
            at,
            offset,
            nsp: nsp.into(),
            to,
            data: Value::Array(data).to_string(),
            binary: binary.into(),
        }
    }

    /// The event's name and arguments, as emitted (always there: the
    /// text is the JSON array `Logged::new` wrote).
    pub(super) fn event(&self) -> Option<(String, Vec<Value>)> {
        let Ok(Value::Array(mut data)) = serde_json::from_str(&self.data) else {
            return None;
        };
        match data.first_mut().map(Value::take) {
            Some(Value::String(name)) => Some((name, data.split_off(1))),
            _ => None,
        }
    }
}

/// A socket that left and may come back.
#[derive(Clone, Debug)]
pub(super) struct Saved {
    pub(super) id: String,
    pub(super) nsp: String,
    pub(super) rooms: HashSet<String>,
    at: Instant,
}

impl Saved {
    pub(super) fn new(id: String, nsp: String, rooms: HashSet<String>, at: Instant) -> Self {
        Saved { id, nsp, rooms, at }
    }

    /// Whether the socket, as it was, would have received `kept`, an
    /// event on `nsp`.
    fn was_for(&self, kept: &Kept, nsp: &str) -> bool {
        if nsp != self.nsp {
            return false;
        }
        let in_room = |room: &String| *room == self.id || self.rooms.contains(room);
        match &kept.to {
            Audience::Socket(id) => **id == *self.id,
            Audience::Rooms(audience) => {
                let Rooms {
                    rooms,
                    except,
                    except_socket,
                } = &**audience;
                (rooms.is_empty() || rooms.iter().any(in_room))
                    && !except.iter().any(in_room)
                    && except_socket.as_deref() != Some(self.id.as_str())
            }
        }
    }
}

/// The recovery state of a server: the event log and the saved sockets.
#[derive(Debug)]
pub(super) struct Recovery {
    config: RecoveryConfig,
    next_offset: u64,
    /// What `Kept::at` counts from: when the oldest event of the log was
    /// emitted, or earlier. Ages are kept to the millisecond.
    epoch: Instant,
    /// The namespaces of logged events (a server serves a few).
    namespaces: Vec<CompactString>,
    log: VecDeque<Kept>,
    /// The texts of the events in `log`, one after the other, in order.
    texts: VecDeque<u8>,
    saved: HashMap<String, Saved>,
}

/// A recovered socket: what it was, and the events it missed.
pub(super) type Recovered = (Saved, Vec<Logged>);

impl Recovery {
    pub(super) fn new(config: RecoveryConfig) -> Self {
        Recovery {
            config,
            next_offset: 0,
            epoch: Instant::now(),
            namespaces: Vec::new(),
            log: VecDeque::new(),
            texts: VecDeque::new(),
            saved: HashMap::new(),
        }
    }

    /// The offset for the next event.
    pub(super) fn next_offset(&mut self) -> u64 {
        self.next_offset += 1;
        self.next_offset
    }

    /// Keeps an emitted event for sockets that may come back.
    pub(super) fn record(&mut self, logged: Logged) {
        let Logged {
            at,
            offset,
            nsp,
            to,
            data,
            binary,
        } = logged;
        let Ok(len) = u32::try_from(data.len()) else {
            log::warn!(
                "socket.io: an event of {} bytes is not kept for recovery",
                data.len()
            );
            return;
        };
        if self.log.is_empty() {
            self.epoch = at;
        }
        let nsp = match self.namespaces.iter().position(|known| *known == nsp) {
            Some(index) => index,
            None => {
                self.namespaces.push(nsp);
                self.namespaces.len() - 1
            }
        };
        self.texts.extend(data.as_bytes());
        self.log.push_back(Kept {
            at: self.since_epoch(at),
            offset,
            nsp: nsp as u32,
            to,
            binary,
            len,
        });
        self.trim(at);
    }

    fn since_epoch(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// Saves a socket that left, under its private id.
    pub(super) fn save(&mut self, pid: String, saved: Saved) {
        let now = saved.at;
        self.saved.insert(pid, saved);
        self.trim(now);
    }

    /// The socket saved under `pid` on `nsp`, with the events after
    /// `offset` it missed; `None` when it is unknown, expired, or the
    /// offset is not a number of ours.
    pub(super) fn restore(
        &mut self,
        pid: &str,
        offset: &str,
        nsp: &str,
        now: Instant,
    ) -> Option<Recovered> {
        self.trim(now);
        let after: u64 = offset.parse().ok()?;
        if self.saved.get(pid)?.nsp != nsp {
            return None;
        }
        let saved = self.saved.remove(pid)?;
        let mut missed = Vec::new();
        let mut start = 0;
        for kept in &self.log {
            let end = start + kept.len as usize;
            let nsp = &self.namespaces[kept.nsp as usize];
            if kept.offset > after && saved.was_for(kept, nsp) {
                let text: Vec<u8> = self.texts.range(start..end).copied().collect();
                missed.push(Logged {
                    at: self.epoch + Duration::from_millis(kept.at),
                    offset: kept.offset,
                    nsp: nsp.clone(),
                    to: kept.to.clone(),
                    // Written from a `String` by `record`.
                    data: String::from_utf8(text).unwrap_or_default(),
                    binary: kept.binary.clone(),
                });
            }
            start = end;
        }
        Some((saved, missed))
    }

    /// Forgets what is older than the recovery window.
    fn trim(&mut self, now: Instant) {
        let window = self.config.max_disconnection_duration;
        let fresh = |at: Instant| now.saturating_duration_since(at) < window;
        let (now_ms, window_ms) = (self.since_epoch(now), window.as_millis() as u64);
        let fresh_kept = |at: u64| now_ms.saturating_sub(at) < window_ms;
        while self.log.len() > self.config.max_events
            || self.log.front().is_some_and(|kept| !fresh_kept(kept.at))
        {
            if let Some(kept) = self.log.pop_front() {
                self.texts.drain(..kept.len as usize);
            }
        }
        if self.log.is_empty() {
            // A quiet server gives the log's room back.
            self.log = VecDeque::new();
            self.texts = VecDeque::new();
        }
        self.saved.retain(|_, saved| fresh(saved.at));
    }

    /// Saved sockets and logged events, for tests.
    #[cfg(test)]
    pub(super) fn sizes(&self) -> (usize, usize) {
        (self.saved.len(), self.log.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn logged(recovery: &mut Recovery, at: Instant, to: Audience) -> Logged {
        let offset = recovery.next_offset();
        Logged::new(at, offset, "/", to, "e", &[json!(offset.to_string())], &[])
    }

    #[test]
    fn a_saved_socket_gets_back_what_was_for_it_after_its_offset() {
        let now = Instant::now();
        let mut recovery = Recovery::new(RecoveryConfig::default());
        let rooms = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let before = logged(&mut recovery, now, Audience::Socket("a".into()));
        recovery.record(before.clone());
        recovery.save(
            "pid".into(),
            Saved::new("a".into(), "/".into(), ["lobby".to_string()].into(), now),
        );
        let to_a = logged(&mut recovery, now, Audience::Socket("a".into()));
        let to_b = logged(&mut recovery, now, Audience::Socket("b".into()));
        let to_lobby = logged(
            &mut recovery,
            now,
            Audience::Rooms(Box::new(Rooms {
                rooms: rooms(&["lobby"]),
                except: vec![],
                except_socket: None,
            })),
        );
        let lobby_but_a = logged(
            &mut recovery,
            now,
            Audience::Rooms(Box::new(Rooms {
                rooms: rooms(&["lobby"]),
                except: vec![],
                except_socket: Some("a".into()),
            })),
        );
        let all_but_lobby = logged(
            &mut recovery,
            now,
            Audience::Rooms(Box::new(Rooms {
                rooms: vec![],
                except: rooms(&["lobby"]),
                except_socket: None,
            })),
        );
        for event in [&to_a, &to_b, &to_lobby, &lobby_but_a, &all_but_lobby] {
            recovery.record(event.clone());
        }
        assert!(
            recovery.restore("pid", "x", "/", now).is_none(),
            "a bad offset"
        );
        assert!(
            recovery.restore("pid", "0", "/other", now).is_none(),
            "another namespace"
        );
        let (saved, missed) = recovery
            .restore("pid", &before.offset.to_string(), "/", now)
            .unwrap();
        assert_eq!(saved.id, "a");
        let offsets: Vec<u64> = missed.iter().map(|m| m.offset).collect();
        assert_eq!(offsets, [to_a.offset, to_lobby.offset]);
        let (event, args) = missed[0].event().unwrap();
        assert_eq!(event, "e");
        assert_eq!(args, [json!(to_a.offset.to_string())], "kept as emitted");
        assert!(
            recovery.restore("pid", "0", "/", now).is_none(),
            "restored once"
        );
    }

    #[test]
    fn the_texts_of_a_capped_log_stay_with_their_events() {
        let now = Instant::now();
        let mut recovery = Recovery::new(RecoveryConfig {
            max_events: 3,
            ..RecoveryConfig::default()
        });
        for _ in 0..7 {
            let event = logged(&mut recovery, now, Audience::Socket("z".into()));
            recovery.record(event);
        }
        recovery.save(
            "p".into(),
            Saved::new("z".into(), "/".into(), HashSet::new(), now),
        );
        let (_, missed) = recovery.restore("p", "0", "/", now).unwrap();
        let read: Vec<(u64, Vec<Value>)> = missed
            .iter()
            .map(|m| (m.offset, m.event().unwrap().1))
            .collect();
        let expected: Vec<(u64, Vec<Value>)> = (5..=7)
            .map(|offset| (offset, vec![json!(offset.to_string())]))
            .collect();
        assert_eq!(read, expected, "the three newest, each with its own text");
    }

    #[test]
    fn what_is_older_than_the_window_is_forgotten() {
        let start = Instant::now();
        let mut recovery = Recovery::new(RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(2),
            max_events: 3,
        });
        for _ in 0..5 {
            let event = logged(&mut recovery, start, Audience::Socket("z".into()));
            recovery.record(event);
        }
        assert_eq!(recovery.sizes(), (0, 3), "the log is capped");
        let event = logged(&mut recovery, start, Audience::Socket("a".into()));
        recovery.record(event);
        recovery.save(
            "p".into(),
            Saved::new("a".into(), "/".into(), HashSet::new(), start),
        );
        assert_eq!(recovery.sizes(), (1, 3));
        let later = start + Duration::from_secs(2);
        assert!(recovery.restore("p", "0", "/", later).is_none());
        assert_eq!(recovery.sizes(), (0, 0));
    }
}
