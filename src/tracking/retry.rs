//! Whether a failed send is worth repeating, as a pure function of what came back (the
//! analytics-next dispatcher's habit: policy apart from the code that sends).

/// `None` means no answer at all (network failure or timeout).
pub fn is_retryable(status: Option<u16>) -> bool {
    match status {
        None => true,
        Some(code) => code == 408 || code == 429 || code >= 500,
    }
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
}
