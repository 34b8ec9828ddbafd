//! Bucketing mode: the environment's file (from the page, or `GET {cdn}/{envId}/bucketing.json`
//! with `If-Modified-Since`, polled) and the bucketing engine, a second wasm module fetched only
//! in this mode. The engine decides; this file only says when it needs which file.

use alloc::string::String;
use alloc::vec;

use super::io::{Effect, Response};
use super::machine::Engine;
use super::outbox::Purpose;
use crate::config::LogLevel;
use crate::error::Error;
use crate::wire::{join, Method, Request};

/// `GET {cdn}/{envId}/bucketing.json`: the environment's bucketing file.
pub fn bucketing_file_request(config: &crate::config::Config) -> Request {
    Request {
        method: Method::Get,
        url: join(
            &config.endpoints.cdn,
            &["/", &config.env_id, "/bucketing.json"],
        ),
        headers: vec![],
        body: String::new(),
        keepalive: false,
    }
}

/// Where the bucketing engine and its file stand.
#[derive(Debug, Default)]
pub(super) struct BucketingState {
    /// The engine module is compiled and instantiated.
    engine_ready: bool,
    /// The engine module could not be loaded.
    engine_failed: Option<Error>,
    /// A file that arrived before the engine did.
    waiting_text: Option<String>,
    /// The text being loaded came from the page (`initialBucketing`): refused, it is fetched.
    loading_initial: bool,
    /// The engine holds a good file.
    has_file: bool,
    /// The last failure to get a file, while there is none.
    file_failed: Option<Error>,
    /// The file's `Last-Modified`, sent back as `If-Modified-Since`.
    last_modified: Option<String>,
    /// When the file is fetched again.
    pub(super) next_poll_at: Option<f64>,
    /// A decision waits for the file.
    pub(super) decision_waiting: bool,
}

impl BucketingState {
    /// True when a local decision can be made now.
    pub(super) fn is_ready(&self) -> bool {
        self.engine_ready && self.has_file
    }

    /// Why no local decision can be made, once that is known for sure.
    pub(super) fn failure(&self) -> Option<Error> {
        if self.has_file {
            return None;
        }
        self.engine_failed
            .clone()
            .or_else(|| self.file_failed.clone())
    }
}

impl Engine {
    /// Asks for the engine module and the file at once.
    pub(super) fn start_bucketing(&mut self, now: f64, initial: Option<String>) {
        let url = self.config.bucketing_engine_url.clone();
        self.out.push(Effect::LoadBucketingEngine(url));
        match initial {
            Some(text) => {
                self.bucketing.loading_initial = true;
                self.bucketing.waiting_text = Some(text);
            }
            None => self.fetch_bucketing_file(now),
        }
    }

    /// Fetches the file: the first load, and every poll.
    pub(super) fn fetch_bucketing_file(&mut self, now: f64) {
        self.bucketing.next_poll_at = None;
        if self.out.is_waiting_for(Purpose::BucketingFile) {
            return;
        }
        let mut request = bucketing_file_request(&self.config);
        if let Some(date) = &self.bucketing.last_modified {
            request.headers = vec![("if-modified-since", date.clone())];
        }
        let timeout = Some(self.config.timeout_ms);
        self.out.send(request, Purpose::BucketingFile, now, timeout);
    }

    fn poll_later(&mut self, now: f64) {
        let interval = self.config.polling_interval_ms;
        if interval > 0 && !self.is_closed() {
            self.bucketing.next_poll_at = Some(now + f64::from(interval));
        }
    }

    /// The engine module is loaded (`Ok`) or could not be.
    pub fn handle_bucketing_engine(&mut self, now: f64, loaded: Result<(), Error>) {
        match loaded {
            Ok(()) => {
                self.bucketing.engine_ready = true;
                if let Some(text) = self.bucketing.waiting_text.take() {
                    self.out.push(Effect::LoadBucketingFile(text));
                }
            }
            Err(error) => {
                self.out.log(LogLevel::Error, error.code(), |line| {
                    line.push_str(&error.message());
                });
                self.bucketing.engine_failed = Some(error);
                self.bucketing.waiting_text = None;
                self.bucketing.next_poll_at = None;
                if self.bucketing.decision_waiting {
                    self.decide(now);
                }
            }
        }
    }

    /// An answer to the file request.
    pub(super) fn on_bucketing_file(&mut self, now: f64, response: Response) {
        match response.status {
            304 => self.poll_later(now),
            200 => {
                self.bucketing.last_modified = response.last_modified;
                self.poll_later(now);
                if self.bucketing.engine_failed.is_some() {
                    return;
                }
                match self.bucketing.engine_ready {
                    true => self.out.push(Effect::LoadBucketingFile(response.body)),
                    false => self.bucketing.waiting_text = Some(response.body),
                }
            }
            status => {
                let mut reason = String::from("http ");
                crate::json::write_number(&mut reason, f64::from(status));
                self.on_bucketing_file_failure(Error::BucketingFetch(reason));
                self.poll_later(now);
            }
        }
    }

    /// No file came: the last good one stays in use; without one, decisions report `error`.
    pub(super) fn on_bucketing_file_failure(&mut self, error: Error) {
        self.out.log(LogLevel::Warn, error.code(), |line| {
            line.push_str(&error.message());
            line.push_str("; keeping the last good bucketing file");
        });
        self.last_error = Some(error.clone());
        if !self.bucketing.has_file {
            self.bucketing.file_failed = Some(error);
            if self.bucketing.decision_waiting {
                self.fail_without_file();
            }
        }
    }

    /// The engine took the file (`Ok`) or refused it.
    pub fn handle_bucketing_file(&mut self, now: f64, loaded: Result<(), Error>) {
        let from_page = core::mem::take(&mut self.bucketing.loading_initial);
        match loaded {
            Ok(()) => {
                let first = !self.bucketing.has_file;
                self.bucketing.has_file = true;
                self.bucketing.file_failed = None;
                if from_page {
                    self.poll_later(now);
                }
                // A new file may decide differently: the current decision is redone.
                if first && !self.bucketing.decision_waiting {
                    return;
                }
                self.bucketing.decision_waiting = false;
                self.next_generation();
                self.decide(now);
            }
            Err(error) if from_page => {
                self.out.log(LogLevel::Warn, error.code(), |line| {
                    line.push_str("initialBucketing refused (");
                    line.push_str(&error.message());
                    line.push_str("); fetching the file");
                });
                self.fetch_bucketing_file(now);
            }
            Err(error) => self.on_bucketing_file_failure(error),
        }
    }
}
