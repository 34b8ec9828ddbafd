//! The Decision API's rate limit (200 requests a second per environment, then 429), respected
//! across page views and tabs: a 429 stores the time before which no page of the environment
//! asks again, and every page reads it before asking. Pure functions; the engine stores and reads.

use alloc::string::String;

use crate::wire::parse_retry_after;

/// Where the time is kept (`{prefix}decisions-not-before`, the prefix naming the environment).
pub const NOT_BEFORE_KEY: &str = "decisions-not-before";

/// The wait after a 429 without a usable `Retry-After`: the limit is counted per second, so a
/// few seconds let the burst drain, while every page view in them is one request fewer.
pub const DEFAULT_WAIT_MS: f64 = 10_000.0;

/// When the next request may go after a 429 answered at `now_ms` with `retry_after`.
pub fn not_before(now_ms: f64, retry_after: Option<&str>) -> f64 {
    now_ms
        + retry_after
            .and_then(parse_retry_after)
            .unwrap_or(DEFAULT_WAIT_MS)
}

/// The stored form: epoch milliseconds in decimal.
pub fn encode(until_ms: f64) -> String {
    let mut text = String::new();
    crate::json::write_uint(&mut text, crate::num::trunc(until_ms.max(0.0)) as u64);
    text
}

/// Reads [`encode`]'s form; anything else is `None` (and ignored).
pub fn decode(text: &str) -> Option<f64> {
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        text.bytes()
            .fold(0.0, |n, b| n * 10.0 + f64::from(b - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_retry_after_or_the_default() {
        assert_eq!(not_before(1000.0, Some("3")), 4000.0);
        assert_eq!(not_before(1000.0, None), 1000.0 + DEFAULT_WAIT_MS);
        assert_eq!(not_before(1000.0, Some("soon")), 1000.0 + DEFAULT_WAIT_MS);
    }

    #[test]
    fn round_trips_and_ignores_anything_else() {
        let until = 1_764_600_012_345.0;
        assert_eq!(decode(&encode(until)), Some(until));
        for bad in ["", "-5", "1.5", "12x", "99999999999999999", " 1"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
