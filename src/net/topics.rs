//! Topics: publish/subscribe inside the engine. A connection subscribes to
//! topics by name ([`Conn::subscribe`](super::Conn::subscribe)); a publish
//! ([`Conn::publish`](super::Conn::publish),
//! [`ServerHandle::publish`](super::ServerHandle::publish)) is framed once
//! ([`PreparedMessage`]) and handed to every worker, and each worker fans it
//! out to its own subscribers at the end of its loop turn.
//!
//! Each worker keeps its own subscriptions, so fanning out takes no lock;
//! a connection's subscriptions go when it closes.

use std::collections::HashMap;
use std::sync::Arc;

use super::handle::ConnId;
use crate::protocol::PreparedMessage;

/// What a publish does to a subscriber whose unsent output is already past
/// [`TopicConfig::max_backlog`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SlowSubscriber {
    /// The publish is queued anyway. Only the connection-wide limit,
    /// [`ServerConfig::max_buffered`](super::ServerConfig::max_buffered),
    /// bounds it: past that the subscriber is disconnected as a slow
    /// consumer.
    Queue,
    /// The subscriber misses this publish; the others get it. Counted in
    /// [`ServerStats::publishes_dropped`](super::ServerStats::publishes_dropped).
    /// The default, as in uWebSockets: one slow reader neither holds
    /// memory nor stops the room.
    #[default]
    Drop,
    /// The subscriber is closed with 1008 (policy violation).
    Close,
}

/// How publishes treat subscribers that do not keep up.
#[derive(Clone, Debug)]
pub struct TopicConfig {
    /// Unsent output past which a subscriber counts as slow.
    pub max_backlog: usize,
    /// What a publish does to a slow subscriber.
    pub slow: SlowSubscriber,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            max_backlog: 1 << 20,
            slow: SlowSubscriber::Drop,
        }
    }
}

/// One publish on its way to a worker's subscribers.
pub(crate) struct Publish {
    pub topic: Arc<str>,
    pub message: Arc<PreparedMessage>,
    /// The publishing connection, which does not hear its own publish.
    pub except: Option<ConnId>,
}

/// A topic's subscribers on one worker: a list to fan out over, and where
/// each one sits in it, so that leaving takes constant time however large
/// the topic.
#[derive(Default)]
struct Members {
    ids: Vec<ConnId>,
    at: HashMap<ConnId, usize>,
}

impl Members {
    fn insert(&mut self, id: ConnId) -> bool {
        if self.at.contains_key(&id) {
            return false;
        }
        self.at.insert(id, self.ids.len());
        self.ids.push(id);
        true
    }

    fn remove(&mut self, id: ConnId) -> bool {
        let Some(at) = self.at.remove(&id) else {
            return false;
        };
        self.ids.swap_remove(at);
        if let Some(moved) = self.ids.get(at) {
            self.at.insert(*moved, at);
        }
        true
    }
}

/// One worker's subscriptions, and the publishes it has yet to deliver.
#[derive(Default)]
pub(crate) struct Topics {
    members: HashMap<Arc<str>, Members>,
    /// The topics of each subscribed connection, for leaving them at close.
    of_conn: HashMap<ConnId, Vec<Arc<str>>>,
    /// How many subscriptions there are, over all topics.
    subscriptions: usize,
    /// Publishes made or received during this loop turn.
    pub pending: Vec<Publish>,
}

impl Topics {
    /// Subscribes `id` to `topic`; false if it already was.
    pub fn subscribe(&mut self, id: ConnId, topic: &str) -> bool {
        let name = match self.members.get_key_value(topic) {
            Some((name, _)) => name.clone(),
            None => Arc::from(topic),
        };
        if !self.members.entry(name.clone()).or_default().insert(id) {
            return false;
        }
        self.of_conn.entry(id).or_default().push(name);
        self.subscriptions += 1;
        true
    }

    /// Unsubscribes `id` from `topic`; false if it was not subscribed.
    pub fn unsubscribe(&mut self, id: ConnId, topic: &str) -> bool {
        if !self.leave(id, topic) {
            return false;
        }
        if let Some(topics) = self.of_conn.get_mut(&id) {
            topics.retain(|name| &**name != topic);
            if topics.is_empty() {
                self.of_conn.remove(&id);
            }
        }
        true
    }

    /// Whether `id` is subscribed to `topic`.
    pub fn is_subscribed(&self, id: ConnId, topic: &str) -> bool {
        self.members
            .get(topic)
            .is_some_and(|members| members.at.contains_key(&id))
    }

    /// The topics `id` is subscribed to.
    pub fn of(&self, id: ConnId) -> &[Arc<str>] {
        self.of_conn.get(&id).map_or(&[], Vec::as_slice)
    }

    /// Ends every subscription of a connection that is closing.
    pub fn leave_all(&mut self, id: ConnId) {
        let Some(topics) = self.of_conn.remove(&id) else {
            return;
        };
        for topic in topics {
            self.leave(id, &topic);
        }
    }

    /// The subscribers of `topic` on this worker.
    pub fn subscribers(&self, topic: &str) -> &[ConnId] {
        self.members.get(topic).map_or(&[], |m| m.ids.as_slice())
    }

    /// How many topics have subscribers here, and how many subscriptions
    /// there are (for tests and stats).
    pub fn counts(&self) -> (usize, usize) {
        (self.members.len(), self.subscriptions)
    }

    fn leave(&mut self, id: ConnId, topic: &str) -> bool {
        let Some(members) = self.members.get_mut(topic) else {
            return false;
        };
        let left = members.remove(id);
        if members.ids.is_empty() {
            self.members.remove(topic);
        }
        self.subscriptions -= usize::from(left);
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: usize) -> ConnId {
        ConnId::new(0, 1, n)
    }

    #[test]
    fn subscribers_come_and_go_and_an_empty_topic_is_forgotten() {
        let mut topics = Topics::default();
        for n in 0..5 {
            assert!(topics.subscribe(id(n), "room"));
        }
        assert!(!topics.subscribe(id(2), "room"));
        assert!(topics.subscribe(id(2), "other"));
        assert!(topics.unsubscribe(id(0), "room"));
        assert!(!topics.unsubscribe(id(0), "room"));
        let mut left: Vec<ConnId> = topics.subscribers("room").to_vec();
        left.sort();
        assert_eq!(left, vec![id(1), id(2), id(3), id(4)]);
        assert!(topics.is_subscribed(id(2), "other"));
        topics.leave_all(id(2));
        assert!(!topics.is_subscribed(id(2), "room"));
        assert_eq!(topics.counts(), (1, 3));
        for n in [1, 3, 4] {
            topics.leave_all(id(n));
        }
        assert_eq!(topics.counts(), (0, 0));
        assert!(topics.of_conn.is_empty());
    }

    #[test]
    fn removing_from_the_middle_keeps_every_position_right() {
        let mut topics = Topics::default();
        for n in 0..100 {
            topics.subscribe(id(n), "t");
        }
        for n in (0..100).step_by(3) {
            assert!(topics.unsubscribe(id(n), "t"));
        }
        let members = &topics.members["t"];
        for (at, member) in members.ids.iter().enumerate() {
            assert_eq!(members.at[member], at);
        }
        assert_eq!(members.ids.len(), 66);
    }
}
