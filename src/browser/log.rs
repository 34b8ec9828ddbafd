//! Console output, filtered by `logLevel`. Callers pass messages that already redact IDs and keys
//! (see `identity::redact`); this module only prefixes and routes them.

use std::cell::Cell;

use wasm_bindgen::JsValue;

use crate::config::LogLevel;

thread_local! {
    static LEVEL: Cell<LogLevel> = const { Cell::new(LogLevel::Warn) };
}

/// Sets the level for every later message.
pub(crate) fn set_level(level: LogLevel) {
    LEVEL.with(|l| l.set(level));
}

/// True when messages of `level` are written.
fn enabled(level: LogLevel) -> bool {
    level <= LEVEL.with(Cell::get)
}

fn emit(level: LogLevel, message: &str) {
    if !enabled(level) {
        return;
    }
    let line = JsValue::from_str(&format!("[flagship-segment] {message}"));
    match level {
        LogLevel::Error => web_sys::console::error_1(&line),
        LogLevel::Warn => web_sys::console::warn_1(&line),
        LogLevel::Info => web_sys::console::info_1(&line),
        LogLevel::Debug | LogLevel::None => web_sys::console::debug_1(&line),
    }
}

/// A failure that leaves the page on defaults.
pub(crate) fn error(message: &str) {
    emit(LogLevel::Error, message);
}

/// A recoverable problem.
pub(crate) fn warn(message: &str) {
    emit(LogLevel::Warn, message);
}

/// A lifecycle step.
pub(crate) fn info(message: &str) {
    emit(LogLevel::Info, message);
}

/// Request-level detail.
pub(crate) fn debug(message: &str) {
    emit(LogLevel::Debug, message);
}

/// [`info`] of a message built only when the level lets it through: for lines on paths that
/// run per visitor or per read.
pub(crate) fn info_with(message: impl FnOnce() -> String) {
    if enabled(LogLevel::Info) {
        info(&message());
    }
}

/// [`debug`], built only when the level lets it through.
pub(crate) fn debug_with(message: impl FnOnce() -> String) {
    if enabled(LogLevel::Debug) {
        debug(&message());
    }
}
