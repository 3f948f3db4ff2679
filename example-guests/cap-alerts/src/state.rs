//! The poll cursor: which alerts were already handled, and the feed's validators.
//!
//! The NWS `alerts/active` feed lists every alert in effect, so consecutive polls
//! see mostly the same alerts. The cursor remembers them by a 64-bit FNV-1a hash of
//! their CAP identifier (16 hex characters: a 2,000-entry list is about 38 KB), in
//! two bounded lists: alerts emitted, and alerts skipped (malformed, or filtered
//! out by `min_severity`), so a skipped alert is not logged again at every poll.
//!
//! The cursor, not the kv store, holds this state because the host commits the
//! cursor together with the poll's outputs: if publishing fails, the alerts are
//! not marked as sent.
//!
//! Each list keeps at most [`MAX_REMEMBERED`] entries: those seen in the latest
//! feed, and before them the most recent of the others (an alert that briefly drops
//! out of the feed is still recognised when it comes back). The `ETag` and
//! `Last-Modified` of the last complete fetch are kept too, for a conditional
//! request; they are only reused for the same request URL and filter (the
//! `fingerprint`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The most alerts each list of the cursor remembers.
pub const MAX_REMEMBERED: usize = 2_000;

/// The cursor format this version writes and reads.
pub const CURSOR_VERSION: u32 = 1;

/// The 64-bit FNV-1a hash of `text`, as 16 lowercase hex digits.
pub fn digest(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The state carried from one poll to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The cursor format, [`CURSOR_VERSION`].
    pub v: u32,
    /// The request URL and filter the validators and skipped list belong to.
    pub fingerprint: String,
    /// The `ETag` of the last complete fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The `Last-Modified` of the last complete fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Digests of the alerts emitted, oldest first.
    #[serde(default)]
    pub emitted: Vec<String>,
    /// Digests of the alerts skipped, oldest first.
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// What one poll learns, on top of the previous cursor.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    emitted_before: Vec<String>,
    skipped_before: Vec<String>,
    emitted: BTreeSet<String>,
    skipped: BTreeSet<String>,
    present_emitted: Vec<String>,
    present_skipped: Vec<String>,
}

impl Seen {
    /// Starts from `cursor`; its skipped list is dropped when the feed or filter
    /// changed (`same_feed` false), so alerts the old filter dropped get a new chance.
    pub fn from_cursor(cursor: &Cursor, same_feed: bool) -> Self {
        let skipped_before = if same_feed {
            cursor.skipped.clone()
        } else {
            Vec::new()
        };
        Seen {
            emitted: cursor.emitted.iter().cloned().collect(),
            skipped: skipped_before.iter().cloned().collect(),
            emitted_before: cursor.emitted.clone(),
            skipped_before,
            present_emitted: Vec::new(),
            present_skipped: Vec::new(),
        }
    }

    /// True when the alert `key` was emitted, earlier or in this poll.
    pub fn was_emitted(&self, key: &str) -> bool {
        self.emitted.contains(&digest(key))
    }

    /// True when the alert `key` was skipped, earlier or in this poll.
    pub fn was_skipped(&self, key: &str) -> bool {
        self.skipped.contains(&digest(key))
    }

    /// Records that `key` is emitted (now or before) and present in the feed.
    pub fn note_emitted(&mut self, key: &str) {
        let d = digest(key);
        self.emitted.insert(d.clone());
        self.present_emitted.push(d);
    }

    /// Records that `key` is skipped (now or before) and present in the feed.
    pub fn note_skipped(&mut self, key: &str) {
        let d = digest(key);
        self.skipped.insert(d.clone());
        self.present_skipped.push(d);
    }

    /// The bounded lists for the next cursor: `(emitted, skipped)`.
    pub fn into_lists(self) -> (Vec<String>, Vec<String>) {
        (
            remember(&self.emitted_before, &self.present_emitted, MAX_REMEMBERED),
            remember(&self.skipped_before, &self.present_skipped, MAX_REMEMBERED),
        )
    }
}

/// The entries of `before` not in `present` (oldest first), then `present`
/// without duplicates, trimmed from the front to `max`.
pub fn remember(before: &[String], present: &[String], max: usize) -> Vec<String> {
    let mut in_present = BTreeSet::new();
    let mut current = Vec::with_capacity(present.len());
    for d in present {
        if in_present.insert(d.as_str()) {
            current.push(d.clone());
        }
    }
    let mut out: Vec<String> = before
        .iter()
        .filter(|d| !in_present.contains(d.as_str()))
        .cloned()
        .collect();
    out.extend(current);
    if out.len() > max {
        out.drain(..out.len() - max);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_fnv1a_64() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(digest(""), "cbf29ce484222325");
        assert_eq!(digest("a"), "af63dc4c8601ec8c");
        assert_eq!(digest("foobar"), "85944171f73967e8");
    }

    #[test]
    fn remember_keeps_the_current_feed_and_then_the_most_recent() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            remember(&s(&["a", "b", "c", "d"]), &s(&["b", "e", "e"]), 10),
            s(&["a", "c", "d", "b", "e"])
        );
        assert_eq!(
            remember(&s(&["a", "b", "c", "d"]), &s(&["b", "e"]), 3),
            s(&["d", "b", "e"])
        );
        // A feed larger than the bound keeps its newest entries.
        assert_eq!(remember(&[], &s(&["x", "y", "z"]), 2), s(&["y", "z"]));
    }

    #[test]
    fn seen_bounds_both_lists_and_drops_skips_on_a_new_feed() {
        let mut cursor = Cursor {
            v: CURSOR_VERSION,
            ..Cursor::default()
        };
        let mut seen = Seen::from_cursor(&cursor, true);
        for i in 0..MAX_REMEMBERED + 500 {
            seen.note_emitted(&format!("alert-{i}"));
            seen.note_skipped(&format!("bad-{i}"));
        }
        assert!(seen.was_emitted("alert-0") && !seen.was_emitted("bad-0"));
        (cursor.emitted, cursor.skipped) = seen.into_lists();
        assert_eq!(cursor.emitted.len(), MAX_REMEMBERED);
        assert_eq!(cursor.skipped.len(), MAX_REMEMBERED);
        let again = Seen::from_cursor(&cursor, true);
        assert!(again.was_emitted(&format!("alert-{}", MAX_REMEMBERED + 499)));
        assert!(
            !again.was_emitted("alert-0"),
            "the oldest entries are dropped"
        );
        assert!(again.was_skipped(&format!("bad-{}", MAX_REMEMBERED + 499)));
        let changed = Seen::from_cursor(&cursor, false);
        assert!(!changed.was_skipped(&format!("bad-{}", MAX_REMEMBERED + 499)));
        assert!(changed.was_emitted(&format!("alert-{}", MAX_REMEMBERED + 499)));
    }
}
