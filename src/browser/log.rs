//! Console output. The engine decides what is logged and at which level (its lines are already
//! filtered by `logLevel` and redacted); this file only prefixes and routes them.

use alloc::string::String;

use wasm_bindgen::JsValue;

use crate::config::LogLevel;

/// Writes `[flagship-segment] {line}` to the console method of `level`.
pub(crate) fn write(level: LogLevel, line: &str) {
    let mut text = String::with_capacity(line.len() + 19);
    text.push_str("[flagship-segment] ");
    text.push_str(line);
    let text = JsValue::from_str(&text);
    match level {
        LogLevel::Error => web_sys::console::error_1(&text),
        LogLevel::Warn => web_sys::console::warn_1(&text),
        LogLevel::Info => web_sys::console::info_1(&text),
        LogLevel::Debug | LogLevel::None => web_sys::console::debug_1(&text),
    }
}

/// A warning the facade writes itself (bad arguments to a method), if `level` lets it through.
pub(crate) fn warn(level: LogLevel, code: &str, detail: &str) {
    if level >= LogLevel::Warn {
        let mut line = String::from(code);
        line.push_str(": ");
        line.push_str(detail);
        write(LogLevel::Warn, &line);
    }
}
