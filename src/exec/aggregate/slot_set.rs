//! A set of group slots as a bitmap plus the list of its members: constant-time insert and membership on the hot
//! path (a hash set of `u32` costs a hash and a probe per row), members listed in insertion order, and clearing in
//! time proportional to the members rather than to the number of slots.

/// Slots in insertion order, each at most once.
#[derive(Debug, Default)]
pub struct SlotSet {
    bits: Vec<u64>,
    /// Inserted slots; a removed slot stays listed until [`SlotSet::take`] (its bit is what counts).
    members: Vec<u32>,
}

fn position(slot: u32) -> (usize, u64) {
    ((slot / 64) as usize, 1u64 << (slot % 64))
}

impl SlotSet {
    /// Adds `slot`; returns whether it was new.
    pub fn insert(&mut self, slot: u32) -> bool {
        let (word, bit) = position(slot);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        if self.bits[word] & bit != 0 {
            return false;
        }
        self.bits[word] |= bit;
        self.members.push(slot);
        true
    }

    pub fn contains(&self, slot: u32) -> bool {
        let (word, bit) = position(slot);
        self.bits.get(word).is_some_and(|w| w & bit != 0)
    }

    pub fn remove(&mut self, slot: u32) {
        let (word, bit) = position(slot);
        if let Some(w) = self.bits.get_mut(word) {
            *w &= !bit;
        }
    }

    /// The members in insertion order; the set is empty afterwards (its bitmap is kept for reuse).
    pub fn take(&mut self) -> Vec<u32> {
        let mut members = std::mem::take(&mut self.members);
        members.retain(|&slot| {
            let (word, bit) = position(slot);
            let present = self.bits[word] & bit != 0;
            self.bits[word] &= !bit;
            present
        });
        members
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_once_in_order_without_removed_ones() {
        let mut s = SlotSet::default();
        assert!(s.insert(130));
        assert!(s.insert(3));
        assert!(!s.insert(130));
        assert!(s.insert(64));
        s.remove(3);
        assert!(!s.contains(3));
        assert!(s.contains(64));
        assert!(!s.contains(100_000));
        s.remove(100_000);
        // Removed, then inserted again: listed once, at its first place.
        assert!(s.insert(3));
        assert_eq!(s.take(), vec![130, 3, 64]);
        assert!(s.take().is_empty());
        assert!(!s.contains(130));
        assert!(s.insert(130));
        assert_eq!(s.take(), vec![130]);
    }
}
