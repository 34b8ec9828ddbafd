//! localStorage under the module's own keys, with every failure caught: storage can be disabled
//! (privacy modes, sandboxed iframes) or full, and neither may break a page or lose a hit that is
//! still held in memory.

/// Keys of one environment: `flagship-segment:{envId}:{name}`.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    prefix: String,
}

/// Why a write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// No localStorage (disabled, or not a browser window).
    Unavailable,
    /// The write was refused, usually `QuotaExceededError`.
    Refused,
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

impl Store {
    /// The store of environment `env_id`.
    pub(crate) fn new(env_id: &str) -> Store {
        Store {
            prefix: format!("flagship-segment:{env_id}:"),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    /// The value under `name`, if any.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        local_storage()?.get_item(&self.key(name)).ok()?
    }

    /// Writes `value` under `name`.
    pub(crate) fn set(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let storage = local_storage().ok_or(StoreError::Unavailable)?;
        storage
            .set_item(&self.key(name), value)
            .map_err(|_| StoreError::Refused)
    }

    /// Removes `name`.
    pub(crate) fn remove(&self, name: &str) {
        if let Some(storage) = local_storage() {
            let _ = storage.remove_item(&self.key(name));
        }
    }

    /// Names under this store's prefix that start with `start`.
    pub(crate) fn names_starting_with(&self, start: &str) -> Vec<String> {
        let Some(storage) = local_storage() else {
            return Vec::new();
        };
        let count = storage.length().unwrap_or(0);
        (0..count)
            .filter_map(|i| storage.key(i).ok().flatten())
            .filter_map(|key| key.strip_prefix(&self.prefix).map(str::to_owned))
            .filter(|name| name.starts_with(start))
            .collect()
    }
}

/// This tab's ID, kept in sessionStorage so that it survives a reload of the same tab but not a
/// new tab: each tab persists its own queue, and no two tabs send the same stored hit.
pub(crate) fn tab_id() -> String {
    let session = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
    const KEY: &str = "flagship-segment:tab";
    if let Some(id) = session
        .as_ref()
        .and_then(|s| s.get_item(KEY).ok().flatten())
    {
        return id;
    }
    let id = format!(
        "{:x}{:x}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * 1e12) as u64
    );
    if let Some(session) = session {
        let _ = session.set_item(KEY, &id);
    }
    id
}
