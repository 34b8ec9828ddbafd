//! The engine's outgoing side: effects waiting to be polled, and the requests it is waiting on,
//! each with the instant after which it is abandoned (aborted and treated as a timeout).

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use super::io::{Effect, PageEvent, Token};
use crate::config::LogLevel;
use crate::tracking::Kind;
use crate::wire::Request;

/// What a request in flight is for, so its answer reaches the rule that asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// The decision of this generation (see `Engine::generation`).
    Decision(u64),
    /// The bucketing file.
    BucketingFile,
    /// The regular batch of a queue (one at a time per queue).
    Batch(Kind),
    /// A keepalive request of the page going away, carrying the entries of that queue's
    /// unload batch with this number.
    Leaving(Kind, u32),
    /// The consent-withdrawn hit: sent once, unstored; its answer changes nothing.
    Unstored,
}

#[derive(Debug, Clone)]
struct InFlight {
    token: Token,
    purpose: Purpose,
    /// Abandoned after this instant; `None` for requests that are never aborted (keepalive
    /// requests must outlive the page).
    deadline: Option<f64>,
    /// Body bytes, when sent with keepalive: the browser allows 64 KiB of those in flight.
    keepalive_bytes: usize,
}

/// Effects and requests in flight.
#[derive(Debug)]
pub(super) struct Outbox {
    effects: VecDeque<Effect>,
    next_token: u32,
    in_flight: Vec<InFlight>,
    log_level: LogLevel,
}

impl Outbox {
    pub(super) fn new(log_level: LogLevel) -> Outbox {
        Outbox {
            effects: VecDeque::new(),
            next_token: 1,
            in_flight: Vec::new(),
            log_level,
        }
    }

    pub(super) fn push(&mut self, effect: Effect) {
        self.effects.push_back(effect);
    }

    pub(super) fn pop(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// Asks for `request` to be sent; abandoned `timeout_ms` after `now` unless `None`.
    pub(super) fn send(
        &mut self,
        request: Request,
        purpose: Purpose,
        now: f64,
        timeout_ms: Option<u32>,
    ) -> Token {
        let token = Token(self.next_token);
        self.next_token = self.next_token.wrapping_add(1);
        self.in_flight.push(InFlight {
            token,
            purpose,
            deadline: timeout_ms.map(|ms| now + f64::from(ms)),
            keepalive_bytes: if request.keepalive {
                request.body.len()
            } else {
                0
            },
        });
        self.push(Effect::Send { token, request });
        token
    }

    /// A token for an answer that is not a request (a local decision).
    pub(super) fn local(&mut self, purpose: Purpose) -> Token {
        let token = Token(self.next_token);
        self.next_token = self.next_token.wrapping_add(1);
        self.in_flight.push(InFlight {
            token,
            purpose,
            deadline: None,
            keepalive_bytes: 0,
        });
        token
    }

    /// What `token` was for, forgetting it; `None` when it was abandoned or never existed.
    pub(super) fn take(&mut self, token: Token) -> Option<Purpose> {
        let at = self.in_flight.iter().position(|f| f.token == token)?;
        Some(self.in_flight.remove(at).purpose)
    }

    /// Abandons every request for which `stale` holds, asking for it to be aborted.
    pub(super) fn abandon(&mut self, stale: impl Fn(Purpose) -> bool) {
        let mut i = 0;
        while i < self.in_flight.len() {
            if stale(self.in_flight[i].purpose) {
                let token = self.in_flight.remove(i).token;
                self.push(Effect::Abort(token));
            } else {
                i += 1;
            }
        }
    }

    /// Abandons the requests whose deadline has passed, asking for each to be aborted; returns
    /// what they were for.
    pub(super) fn expire(&mut self, now: f64) -> Vec<Purpose> {
        let mut expired = Vec::new();
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].deadline.is_some_and(|at| at <= now) {
                let InFlight { token, purpose, .. } = self.in_flight.remove(i);
                self.push(Effect::Abort(token));
                expired.push(purpose);
            } else {
                i += 1;
            }
        }
        expired
    }

    /// Takes the deadline off the requests for `purpose`: handed over to the browser as the
    /// page goes away, they must not be aborted.
    pub(super) fn never_abandon(&mut self, purpose: Purpose) {
        for request in self.in_flight.iter_mut().filter(|f| f.purpose == purpose) {
            request.deadline = None;
        }
    }

    /// The earliest deadline of a request in flight.
    pub(super) fn next_deadline(&self) -> Option<f64> {
        self.in_flight
            .iter()
            .filter_map(|f| f.deadline)
            .reduce(f64::min)
    }

    /// Body bytes of the keepalive requests in flight.
    pub(super) fn keepalive_in_flight(&self) -> usize {
        self.in_flight.iter().map(|f| f.keepalive_bytes).sum()
    }

    /// True while a request for `purpose` is in flight.
    pub(super) fn is_waiting_for(&self, purpose: Purpose) -> bool {
        self.in_flight.iter().any(|f| f.purpose == purpose)
    }

    /// True when lines of `level` are written.
    pub(super) fn logs(&self, level: LogLevel) -> bool {
        level != LogLevel::None && level <= self.log_level
    }

    /// A console line `CODE: detail`, built only when `level` is written.
    pub(super) fn log(&mut self, level: LogLevel, code: &str, detail: impl FnOnce(&mut String)) {
        if !self.logs(level) {
            return;
        }
        let mut line = String::from(code);
        line.push_str(": ");
        detail(&mut line);
        self.push(Effect::Log { level, line });
    }

    /// Logs a warning and tells the page's `warning` listeners.
    pub(super) fn warn_page(&mut self, code: &'static str, message: String) {
        self.log(LogLevel::Warn, code, |line| line.push_str(&message));
        self.push(Effect::Emit(PageEvent::Warning { code, message }));
    }
}
