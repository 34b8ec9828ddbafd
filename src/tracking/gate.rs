//! The seen-by-Segment gate: AB Tasty's SegmentIO connector drops an event whose visitor Segment
//! has not seen yet, so a fresh visitor's first exposure, sent before analytics.js delivered its
//! first call, is lost even though the IDs match. Activations and hits of an identity are held
//! until Segment has dispatched a call carrying it, up to a timeout.
//!
//! Pure rules over an injected clock: the engine reports dispatches ([`SeenGate::mark_seen`]),
//! asks what it may send ([`SeenGate::allows`]) and, polled, learns which identities Segment must
//! be asked to dispatch a call for. Decisions are never held: only what AB Tasty forwards is.

use crate::bucketing::murmur3_x86_32;
use crate::config::EnsureSegmentKnows;
use alloc::{string::String, vec::Vec};

/// An identity as the gate knows it: a hash of its visitor ID and anonymousId, so that the stored
/// markers hold no ID in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityKey(u32, u32);

impl IdentityKey {
    /// The key of `(visitor_id, anonymous_id)` as decisions and activations carry them.
    pub fn new(visitor_id: &str, anonymous_id: Option<&str>) -> IdentityKey {
        IdentityKey(
            murmur3_x86_32(visitor_id.as_bytes()),
            anonymous_id.map_or(0, |a| murmur3_x86_32(a.as_bytes()) | 1),
        )
    }

    /// The key of a hit's `(vid, cuid)`: the same identity, laid out the other way (contract §2).
    pub fn of_hit(vid: &str, cuid: Option<&str>) -> IdentityKey {
        match cuid {
            Some(user) => IdentityKey::new(user, Some(vid)),
            None => IdentityKey::new(vid, None),
        }
    }

    /// Appends the stored form, `"hhhhhhhh.hhhhhhhh"`.
    pub fn encode_into(&self, out: &mut String) {
        push_hex(out, self.0);
        out.push('.');
        push_hex(out, self.1);
    }

    /// The stored form, `"hhhhhhhh.hhhhhhhh"`.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(17);
        self.encode_into(&mut out);
        out
    }

    /// Reads [`IdentityKey::encode`]'s form.
    pub fn decode(text: &str) -> Option<IdentityKey> {
        let (a, b) = text.split_once('.')?;
        Some(IdentityKey(
            u32::from_str_radix(a, 16).ok()?,
            u32::from_str_radix(b, 16).ok()?,
        ))
    }
}

/// `n` as eight lower-case hex digits.
fn push_hex(out: &mut String, n: u32) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..8).rev() {
        out.push(char::from(DIGITS[((n >> (shift * 4)) & 15) as usize]));
    }
}

#[derive(Debug, Clone, Copy)]
struct Waiting {
    since_ms: f64,
    tracked: bool,
}

/// Most identities remembered as seen (and stored).
pub const MAX_SEEN: usize = 50;

/// Which identities Segment has dispatched a call for, and which are waiting.
#[derive(Debug, Clone)]
pub struct SeenGate {
    mode: EnsureSegmentKnows,
    timeout_ms: f64,
    /// Seen, newest last.
    seen: Vec<IdentityKey>,
    /// Let through after a timeout without being seen. A `Vec`, like `waiting`: a page holds a
    /// handful of identities, and a scan costs less of the wasm than a hash table per type.
    released: Vec<IdentityKey>,
    /// Held identities, in the order they were first held.
    waiting: Vec<(IdentityKey, Waiting)>,
    /// Identities whose items went out unseen after the timeout.
    pub sent_unseen: u64,
}

impl SeenGate {
    /// A gate in `mode` that holds an identity at most `timeout_ms` (twice that with `Track`).
    pub fn new(mode: EnsureSegmentKnows, timeout_ms: f64) -> SeenGate {
        SeenGate {
            mode,
            timeout_ms,
            seen: Vec::new(),
            released: Vec::new(),
            waiting: Vec::new(),
            sent_unseen: 0,
        }
    }

    /// True when `key` was seen (or the gate is off).
    pub fn is_seen(&self, key: IdentityKey) -> bool {
        self.mode == EnsureSegmentKnows::Off || self.seen.contains(&key)
    }

    /// Whether items of `key` may be sent now, without starting a wait (the page going away).
    pub fn lets_through(&self, key: IdentityKey) -> bool {
        self.is_seen(key) || self.released.contains(&key)
    }

    /// Whether items of `key` may be sent now; the first refusal starts its wait at `now_ms`.
    pub fn allows(&mut self, key: IdentityKey, now_ms: f64) -> bool {
        if self.is_seen(key) || self.released.contains(&key) {
            return true;
        }
        if !self.waiting.iter().any(|(k, _)| *k == key) {
            self.waiting.push((
                key,
                Waiting {
                    since_ms: now_ms,
                    tracked: false,
                },
            ));
        }
        false
    }

    /// True when something is held.
    pub fn is_holding(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Segment dispatched a call for `key`. True when items of `key` were held: they may go now.
    pub fn mark_seen(&mut self, key: IdentityKey) -> bool {
        if !self.seen.contains(&key) {
            self.seen.push(key);
            if self.seen.len() > MAX_SEEN {
                self.seen.remove(0);
            }
        }
        match self.waiting.iter().position(|(k, _)| *k == key) {
            Some(at) => {
                self.waiting.remove(at);
                true
            }
            None => false,
        }
    }

    /// When the next wait ends.
    pub fn next_deadline(&self) -> Option<f64> {
        self.waiting
            .iter()
            .map(|(_, w)| w.since_ms + self.timeout_ms)
            .reduce(f64::min)
    }

    /// Ends the waits that are over. Returns the identities Segment must now be asked to
    /// dispatch a call for (`ensureSegmentKnows: "track"`, first wait over); the others are
    /// released.
    pub fn poll(&mut self, now_ms: f64) -> Vec<IdentityKey> {
        let mut track_needed = Vec::new();
        let mut i = 0;
        while let Some((key, waiting)) = self.waiting.get_mut(i) {
            let key = *key;
            if now_ms - waiting.since_ms < self.timeout_ms {
                i += 1;
            } else if self.mode == EnsureSegmentKnows::Track && !waiting.tracked {
                waiting.tracked = true;
                waiting.since_ms = now_ms;
                track_needed.push(key);
                i += 1;
            } else {
                self.waiting.remove(i);
                if !self.released.contains(&key) {
                    self.released.push(key);
                }
                self.sent_unseen += 1;
            }
        }
        track_needed
    }

    /// The stored form of the seen markers: `{"v":1,"seen":["…",…]}`.
    pub fn encode(&self) -> String {
        let mut out = String::from("{\"v\":1,\"seen\":[");
        for (i, key) in self.seen.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            key.encode_into(&mut out);
            out.push('"');
        }
        out.push_str("]}");
        out
    }

    /// Restores markers written by [`SeenGate::encode`]; unreadable text restores nothing.
    pub fn restore(&mut self, text: &str) -> Result<(), &'static str> {
        let value = crate::json::parse(text).map_err(|_| "stored markers are not JSON")?;
        if value.get("v").and_then(crate::json::Value::as_f64) != Some(1.0) {
            return Err("stored markers have an unknown version");
        }
        let list = value
            .get("seen")
            .and_then(crate::json::Value::as_array)
            .ok_or("stored markers have no list")?;
        let mut keys = Vec::with_capacity(list.len());
        for v in list {
            keys.push(
                v.as_str()
                    .and_then(IdentityKey::decode)
                    .ok_or("stored marker is unreadable")?,
            );
        }
        for key in keys.into_iter().rev().take(MAX_SEEN).rev() {
            self.mark_seen(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(v: &str) -> IdentityKey {
        IdentityKey::new(v, None)
    }

    #[test]
    fn holds_until_seen() {
        let mut gate = SeenGate::new(EnsureSegmentKnows::Wait, 5000.0);
        assert!(!gate.allows(key("A"), 0.0));
        assert!(gate.is_holding());
        assert_eq!(gate.next_deadline(), Some(5000.0));
        assert!(gate.mark_seen(key("A")), "A was held");
        assert!(!gate.mark_seen(key("A")), "nothing more to release");
        assert!(gate.allows(key("A"), 1.0));
        assert!(!gate.is_holding());
        assert_eq!(gate.sent_unseen, 0);
    }

    #[test]
    fn wait_releases_after_the_timeout_and_counts_it() {
        let mut gate = SeenGate::new(EnsureSegmentKnows::Wait, 5000.0);
        assert!(!gate.allows(key("A"), 0.0));
        assert!(gate.poll(4999.0).is_empty());
        assert!(gate.is_holding());
        assert!(
            gate.poll(5000.0).is_empty(),
            "released, no track call asked"
        );
        assert!(!gate.is_holding());
        assert!(gate.allows(key("A"), 5001.0));
        assert_eq!(gate.sent_unseen, 1);
    }

    #[test]
    fn track_asks_for_a_call_then_waits_once_more() {
        let mut gate = SeenGate::new(EnsureSegmentKnows::Track, 100.0);
        assert!(!gate.allows(key("A"), 0.0));
        assert_eq!(gate.poll(100.0), [key("A")]);
        assert!(
            !gate.allows(key("A"), 150.0),
            "still held until the track call is dispatched"
        );
        assert!(gate.mark_seen(key("A")));
        assert!(!gate.allows(key("B"), 0.0));
        assert_eq!(gate.poll(100.0), [key("B")]);
        assert!(gate.poll(200.0).is_empty());
        assert!(
            gate.allows(key("B"), 200.0),
            "blocked Segment: sent anyway once the second wait is over"
        );
    }

    #[test]
    fn off_never_holds() {
        let mut gate = SeenGate::new(EnsureSegmentKnows::Off, 5000.0);
        assert!(gate.allows(key("A"), 0.0));
        assert!(!gate.is_holding());
    }

    #[test]
    fn hits_and_activations_of_one_identity_share_a_key() {
        assert_eq!(
            IdentityKey::new("U", Some("A")),
            IdentityKey::of_hit("A", Some("U"))
        );
        assert_eq!(IdentityKey::new("A", None), IdentityKey::of_hit("A", None));
        assert_ne!(
            IdentityKey::new("A", None),
            IdentityKey::new("U", Some("A"))
        );
    }

    #[test]
    fn markers_survive_a_reload_hashed() {
        let mut gate = SeenGate::new(EnsureSegmentKnows::Wait, 5000.0);
        gate.mark_seen(IdentityKey::new("visitor-secret", Some("anon")));
        let stored = gate.encode();
        assert!(!stored.contains("visitor-secret"), "{stored}");
        let mut next = SeenGate::new(EnsureSegmentKnows::Wait, 5000.0);
        next.restore(&stored).unwrap();
        assert!(next.allows(IdentityKey::new("visitor-secret", Some("anon")), 0.0));
        for bad in [
            "",
            "{}",
            r#"{"v":1,"seen":[1]}"#,
            r#"{"v":1,"seen":["zz.1"]}"#,
        ] {
            assert!(
                SeenGate::new(EnsureSegmentKnows::Wait, 1.0)
                    .restore(bad)
                    .is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn memory_is_bounded() {
        let mut gate = SeenGate::new(EnsureSegmentKnows::Wait, 1.0);
        for i in 0..(MAX_SEEN + 5) {
            gate.mark_seen(key(&i.to_string()));
        }
        assert_eq!(gate.seen.len(), MAX_SEEN);
        assert!(!gate.is_seen(key("0")));
    }
}
