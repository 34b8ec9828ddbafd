//! Whether a failed send is worth repeating, as a pure function of what came back (the
//! analytics-next dispatcher's habit: policy apart from the code that sends).

/// `None` means no answer at all (network failure or timeout).
pub fn is_retryable(status: Option<u16>) -> bool {
    match status {
        None => true,
        Some(code) => code == 408 || code == 429 || code >= 500,
    }
}

/// The longest wait a `Retry-After` is honoured for; a longer one is taken as this.
pub const MAX_RETRY_AFTER_MS: f64 = 60.0 * 60.0 * 1000.0;

/// The wait a `Retry-After` header asks for, in ms: delta-seconds only. An HTTP-date (or
/// anything else) is `None`, and the usual backoff applies.
pub fn parse_retry_after(value: &str) -> Option<f64> {
    let digits = value.trim();
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = digits
        .bytes()
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    Some((f64::from(seconds) * 1000.0).min(MAX_RETRY_AFTER_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_are_retried_client_errors_are_not() {
        for retry in [None, Some(408), Some(429), Some(500), Some(503)] {
            assert!(is_retryable(retry), "{retry:?}");
        }
        for drop in [Some(400), Some(401), Some(403), Some(404), Some(413)] {
            assert!(!is_retryable(drop), "{drop:?}");
        }
    }

    #[test]
    fn retry_after_in_seconds_is_honoured_up_to_an_hour() {
        assert_eq!(parse_retry_after("120"), Some(120_000.0));
        assert_eq!(parse_retry_after(" 0 "), Some(0.0));
        assert_eq!(parse_retry_after("999999999"), Some(MAX_RETRY_AFTER_MS));
        for other in [
            "",
            "-1",
            "1.5",
            "Wed, 21 Oct 2026 07:28:00 GMT",
            "12a",
            "1234567890",
        ] {
            assert_eq!(parse_retry_after(other), None, "{other:?}");
        }
    }
}
