//! The emulator's shared state: options, the bucketing file in force, and the journal.
//!
//! The bucketing file is re-read when its modification time changes, checked on each request
//! that uses it (one `stat`), so editing `www/bucketing.json` during a demo takes effect without
//! a restart. A file that no longer parses is reported on stderr and the previous one is kept:
//! a typo must not take the demo down.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::SystemTime;

use super::args::Options;
use super::catalog::Catalog;
use super::journal::Journal;
use crate::bucketing::{parse_bucketing, BucketingFile};
use crate::json;

/// One version of the bucketing file.
#[derive(Debug)]
pub struct Loaded {
    /// The file's text, served as is at `/{envId}/bucketing.json`.
    pub text: String,
    /// The parsed file the engine decides with.
    pub file: BucketingFile,
    /// Names by variation, for the connector.
    pub catalog: Catalog,
    /// Modification time, for `Last-Modified`.
    pub modified: SystemTime,
}

impl Loaded {
    /// Parses `text`; the error names the first problem.
    pub fn from_text(text: String, modified: SystemTime) -> Result<Loaded, String> {
        let file = parse_bucketing(&text).map_err(|e| e.to_string())?;
        let value = json::parse(&text).map_err(|e| e.0.to_owned())?;
        Ok(Loaded {
            catalog: Catalog::new(&value),
            file,
            text,
            modified,
        })
    }

    fn read(path: &Path) -> Result<Loaded, String> {
        let fail = |e: std::io::Error| format!("{}: {e}", path.display());
        let text = std::fs::read_to_string(path).map_err(fail)?;
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(fail)?;
        Loaded::from_text(text, modified).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Emulator {
    /// Command-line options.
    pub options: Options,
    bucketing: RwLock<Arc<Loaded>>,
    journal: Mutex<Journal>,
}

impl Emulator {
    /// Loads the bucketing file named in `options`; fails if it cannot be read or parsed.
    pub fn new(options: Options) -> Result<Arc<Emulator>, String> {
        let loaded = Loaded::read(&options.bucketing)?;
        Ok(Arc::new(Emulator {
            options,
            bucketing: RwLock::new(Arc::new(loaded)),
            journal: Mutex::default(),
        }))
    }

    /// The journal. A handler that panicked while holding it leaves it usable: the journal is
    /// append-only, so the worst case is one half-recorded request.
    pub fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Clears the journal (`POST /_emulator/reset`).
    pub fn reset(&self) {
        *self.journal() = Journal::default();
    }

    /// The bucketing file in force, re-read first if it changed on disk.
    pub async fn bucketing(&self) -> Arc<Loaded> {
        let current = self.current();
        let path = &self.options.bucketing;
        let modified = tokio::fs::metadata(path)
            .await
            .and_then(|m| m.modified())
            .ok();
        if modified.is_none_or(|m| m == current.modified) {
            return current;
        }
        let path = path.clone();
        let reloaded = tokio::task::spawn_blocking(move || Loaded::read(&path)).await;
        match reloaded {
            Ok(Ok(loaded)) => {
                let loaded = Arc::new(loaded);
                eprintln!("reloaded {}", self.options.bucketing.display());
                *self.bucketing.write().unwrap_or_else(|e| e.into_inner()) = loaded.clone();
                loaded
            }
            Ok(Err(reason)) => {
                eprintln!("keeping the previous bucketing file: {reason}");
                current
            }
            Err(_) => current,
        }
    }

    fn current(&self) -> Arc<Loaded> {
        self.bucketing
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
