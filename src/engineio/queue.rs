//! A first-in, first-out queue that costs one pointer while it is empty.
//!
//! An idle Engine.IO or Socket.IO session keeps several queues that are
//! nearly always empty; as `VecDeque`s they took 32 bytes each in every
//! session of the table, whatever they held. Here the `VecDeque` is boxed
//! on the first push and dropped by [`Queue::release_if_empty`], which the
//! server calls on idle sessions, so an idle session pays 8 bytes a queue.

use std::collections::VecDeque;

/// A FIFO whose storage, `VecDeque` and all, exists only while it is used.
// The box is the point: an empty queue is one pointer, not a `VecDeque`.
#[allow(clippy::box_collection)]
#[derive(Debug)]
pub(crate) struct Queue<T>(Option<Box<VecDeque<T>>>);

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue(None)
    }
}

impl<T> Queue<T> {
    /// Adds `item` at the back. The first push makes room for one item
    /// only: most queues hold one thing at a time.
    pub(crate) fn push(&mut self, item: T) {
        self.0
            .get_or_insert_with(|| Box::new(VecDeque::with_capacity(1)))
            .push_back(item);
    }

    /// Adds every item of `items` at the back.
    pub(crate) fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        for item in items {
            self.push(item);
        }
    }

    /// Takes the item at the front.
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.0.as_mut()?.pop_front()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|queue| queue.is_empty())
    }

    /// Drops every item (the storage stays until released).
    pub(crate) fn clear(&mut self) {
        if let Some(queue) = &mut self.0 {
            queue.clear();
        }
    }

    /// The items, front first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter().flat_map(|queue| queue.iter())
    }

    /// Frees the storage when nothing is queued; whether it did.
    pub(crate) fn release_if_empty(&mut self) -> bool {
        let release = self.0.is_some() && self.is_empty();
        if release {
            self.0 = None;
        }
        release
    }

    /// Whether the queue holds storage (for tests of idle sessions).
    #[cfg(test)]
    pub(crate) fn has_storage(&self) -> bool {
        self.0.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_in_order_and_an_empty_queue_lets_go_of_its_storage() {
        let mut queue = Queue::default();
        assert!(queue.is_empty() && queue.pop().is_none());
        queue.push(1);
        queue.extend([2, 3]);
        assert_eq!(queue.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert!(!queue.release_if_empty());
        assert!(queue.has_storage(), "kept while it holds items");
        assert_eq!(queue.pop(), Some(1));
        queue.clear();
        assert!(queue.is_empty() && queue.has_storage());
        assert!(queue.release_if_empty());
        assert!(!queue.has_storage());
        assert!(!queue.release_if_empty(), "nothing left to free");
        queue.push(4);
        assert_eq!(queue.pop(), Some(4));
    }
}
