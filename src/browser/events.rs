//! The page's listeners (`fs.on("change" | "flags", cb)`), called so that a throwing callback
//! can never break the module or the other listeners.

use alloc::vec::Vec;

use js_sys::Function;
use wasm_bindgen::JsValue;

use super::log;
use crate::config::LogLevel;

/// Events the page can listen to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// The Segment identity in use changed, or the context did and decisions are refetched.
    Change,
    /// New flags were applied.
    Flags,
    /// Something the page's integrators should know: `{code, message}`.
    Warning,
}

impl Event {
    pub(crate) const ALL: [Event; 3] = [Event::Change, Event::Flags, Event::Warning];

    /// The name the page listens by.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Event::Change => "change",
            Event::Flags => "flags",
            Event::Warning => "warning",
        }
    }

    /// Parses the page's event name.
    pub(crate) fn parse(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|event| event.name() == name)
    }
}

/// Registered listeners in registration order.
#[derive(Debug, Default)]
pub(crate) struct Listeners(Vec<(Event, Function)>);

impl Listeners {
    /// Adds `callback`; registering the same callback twice for one event has no effect, as with
    /// `addEventListener`.
    pub(crate) fn add(&mut self, event: Event, callback: Function) {
        if !self.0.iter().any(|(e, f)| *e == event && f == &callback) {
            self.0.push((event, callback));
        }
    }

    /// Removes `callback` from `event`.
    pub(crate) fn remove(&mut self, event: Event, callback: &Function) {
        self.0.retain(|(e, f)| !(*e == event && f == callback));
    }

    /// The callbacks of `event`, cloned so that they run with no borrow held (a callback may
    /// read flags or register listeners).
    pub(crate) fn of(&self, event: Event) -> Vec<Function> {
        self.0
            .iter()
            .filter(|(e, _)| *e == event)
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// Forgets every listener.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// Calls each of `callbacks` with `payload`, logging instead of propagating what they throw.
pub(crate) fn dispatch(callbacks: &[Function], payload: &JsValue, level: LogLevel) {
    for callback in callbacks {
        if callback.call1(&JsValue::UNDEFINED, payload).is_err() && level >= LogLevel::Error {
            log::write(
                LogLevel::Error,
                "LISTENER_THREW: a page listener threw; the module carries on",
            );
        }
    }
}
