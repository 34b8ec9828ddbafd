//! localStorage under the module's own keys (`flagship-segment:{envId}:{name}`), every failure
//! caught: storage can be disabled (privacy modes, sandboxed iframes) or full, and neither may
//! break a page. The engine decides what is written; this file only moves the text.

use alloc::string::String;
use alloc::vec::Vec;

use crate::engine::StoredState;
use crate::wire::join;

/// Keys of one environment.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    prefix: String,
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

impl Store {
    /// The store of environment `env_id`.
    pub(crate) fn new(env_id: &str) -> Store {
        Store {
            prefix: crate::config::storage_prefix(env_id),
        }
    }

    /// Writes `value` under `name` (removes the key for `None`); false when the browser
    /// refused (no storage, or `QuotaExceededError`).
    pub(crate) fn write(&self, name: &str, value: Option<&str>) -> bool {
        let Some(storage) = local_storage() else {
            return false;
        };
        let key = join(&self.prefix, &[name]);
        match value {
            Some(value) => storage.set_item(&key, value).is_ok(),
            None => storage.remove_item(&key).is_ok(),
        }
    }
}

impl StoredState for Store {
    /// This tab's ID, kept in sessionStorage so that it survives a reload of the same tab but
    /// not a new tab: each tab persists its own queue, and no two tabs send the same stored hit.
    fn tab_id(&self) -> String {
        const KEY: &str = crate::config::TAB_KEY;
        let session = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
        if let Some(id) = session
            .as_ref()
            .and_then(|s| s.get_item(KEY).ok().flatten())
        {
            return id;
        }
        let mut id = String::new();
        crate::json::write_uint(&mut id, js_sys::Date::now() as u64);
        id.push('-');
        crate::json::write_uint(&mut id, (js_sys::Math::random() * 1e12) as u64);
        if let Some(session) = session {
            let _ = session.set_item(KEY, &id);
        }
        id
    }

    fn get(&self, name: &str) -> Option<String> {
        local_storage()?
            .get_item(&join(&self.prefix, &[name]))
            .ok()?
    }

    fn names(&self) -> Vec<String> {
        let Some(storage) = local_storage() else {
            return Vec::new();
        };
        let count = storage.length().unwrap_or(0);
        let mut names = Vec::new();
        for i in 0..count {
            if let Some(key) = storage.key(i).ok().flatten() {
                if let Some(name) = key.strip_prefix(self.prefix.as_str()) {
                    names.push(String::from(name));
                }
            }
        }
        names
    }
}
