//! The sessions a batch of work wrote to, each once, to be written out
//! after the batch: a broadcast burst queues many messages on each
//! recipient, and each recipient gets one write for all of them.
//!
//! A bit per slot says whether the slot is listed already, so adding is a
//! test and a set, where sorting and deduplicating the list cost ~100
//! instructions per delivery in a Socket.IO room burst (16 emits to 1,000
//! members).

/// Slots of the worker's sessions, each listed at most once.
#[derive(Default)]
pub(super) struct Touched {
    /// The slots, in the order first touched.
    slots: Vec<usize>,
    /// Bit `slot % 64` of word `slot / 64`: the slot is in `slots`.
    listed: Vec<u64>,
}

impl Touched {
    /// Lists `slot`, unless it is listed already.
    #[inline]
    pub fn add(&mut self, slot: usize) {
        let (word, bit) = (slot / 64, 1u64 << (slot % 64));
        if word >= self.listed.len() {
            self.listed.resize(word + 1, 0);
        }
        if self.listed[word] & bit == 0 {
            self.listed[word] |= bit;
            self.slots.push(slot);
        }
    }

    /// Takes the list, leaving this empty (its storage is kept for the
    /// next batch once the list is given back).
    pub fn take(&mut self) -> Vec<usize> {
        for &slot in &self.slots {
            self.listed[slot / 64] = 0;
        }
        std::mem::take(&mut self.slots)
    }

    /// Gives back a list's storage, emptied, for the next batch.
    pub fn give_back(&mut self, mut slots: Vec<usize>) {
        if self.slots.is_empty() {
            slots.clear();
            self.slots = slots;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Touched;

    #[test]
    fn each_slot_is_listed_once_in_first_touched_order() {
        let mut touched = Touched::default();
        for slot in [5, 700, 5, 63, 64, 700, 0, 63] {
            touched.add(slot);
        }
        assert_eq!(touched.take(), vec![5, 700, 63, 64, 0]);
        // Taken: the marks are gone too, so the next batch lists again.
        touched.add(700);
        touched.add(5);
        touched.add(700);
        assert_eq!(touched.take(), vec![700, 5]);
        assert!(touched.take().is_empty());
    }
}
