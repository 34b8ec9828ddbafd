//! The driver's other half: [`Driver::execute`] performs what the engine polls, one effect per
//! branch (requests, the one timer, storage, Segment calls, page events), and feeds answers back
//! through the inbox. No rule lives here either.

use super::*;

impl Driver {
    /// Performs one effect.
    pub(super) fn execute(&self, effect: Effect) {
        match effect {
            Effect::Send { token, request } => self.send(token, request),
            Effect::Abort(token) => {
                let mut requests = self.requests.borrow_mut();
                if let Some(at) = requests.iter().position(|(t, _)| *t == token) {
                    requests.remove(at).1.abort();
                }
            }
            Effect::Store { name, value } => {
                if !self.store.write(&name, value.as_deref()) {
                    self.deliver(Input::StorageRefused);
                }
            }
            Effect::Restore => self.deliver(Input::Restore),
            Effect::Emit(event) => self.emit(event),
            Effect::FlagsReplaced => self.read_cache.clear(),
            Effect::Subscribe => self.segment.subscribe(),
            Effect::Unsubscribe => self.segment.unsubscribe(),
            Effect::WatchSegmentCalls => {
                let me = self.me.clone();
                let watch = self.segment.live().and_then(|live| {
                    SegmentCallWatch::new(&live, move || {
                        if let Some(driver) = me.upgrade() {
                            driver.deliver(Input::SegmentCallSeen);
                        }
                    })
                });
                let old = self.watch.replace(watch);
                // Dropped out of the borrow: dropping unhooks it from analytics.js.
                drop(old);
            }
            Effect::StopWatching => {
                let old = self.watch.take();
                // As above.
                drop(old);
            }
            Effect::TrackInSegment(call) => {
                if !self.segment.track(&call) {
                    log::warn(
                        self.log_level,
                        "SEGMENT_TRACK_FAILED",
                        "analytics.track could not be called, or threw",
                    );
                }
            }
            Effect::LoadBucketingEngine(url) => self.load_bucketing_engine(url),
            Effect::LoadBucketingFile(text) => {
                let loaded = match self.bucketing.borrow().as_ref() {
                    Some(engine) => engine.load_file(&text),
                    None => Err(Error::BucketingFetch("bucketing engine not loaded".into())),
                };
                self.deliver(Input::BucketingFile(loaded));
            }
            Effect::DecideLocally {
                token,
                visitor_id,
                context,
            } => {
                let answer = match self.bucketing.borrow().as_ref() {
                    Some(engine) => engine.decide(&visitor_id, &context),
                    None => Err(Error::BucketingFetch("bucketing engine not loaded".into())),
                };
                self.deliver(Input::LocalDecision(token, answer));
            }
            Effect::Settled => {
                let waiters = core::mem::take(&mut *self.settle_waiters.borrow_mut());
                for resolve in waiters {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
            Effect::Flushed(id) => {
                let done: Vec<Function> = {
                    let mut waiters = self.flush_waiters.borrow_mut();
                    let mut done = Vec::new();
                    waiters.retain(|(waiting, resolve)| {
                        let finished = *waiting == id;
                        if finished {
                            done.push(resolve.clone());
                        }
                        !finished
                    });
                    done
                };
                if self.close_flush.get() == Some(id) {
                    self.let_go();
                }
                if done.is_empty() {
                    self.flushes_done.borrow_mut().push(id);
                }
                for resolve in done {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
            Effect::Log { level, line } => log::write(level, &line),
        }
    }

    /// After `close()`: page listeners, the timer and the watch go; requests already sent
    /// finish on their own.
    fn let_go(&self) {
        self.page_listeners.borrow_mut().clear();
        *self.watch.borrow_mut() = None;
        *self.bucketing.borrow_mut() = None;
        self.settle_waiters.borrow_mut().clear();
    }

    /// Sends `request`; its answer goes back to the engine with `token`.
    fn send(&self, token: Token, request: Request) {
        let me = self.me.clone();
        let in_flight = fetch::send(request, move |answer| {
            if let Some(driver) = me.upgrade() {
                driver.on_answer(token, answer);
            }
        });
        self.requests.borrow_mut().push((token, in_flight));
    }

    fn on_answer(&self, token: Token, answer: Answer) {
        self.requests.borrow_mut().retain(|(t, _)| *t != token);
        self.deliver(Input::Answer(token, answer));
    }

    /// Keeps the one timer armed for the engine's next deadline.
    pub(super) fn arm_timer(&self) {
        let next = self.peek(Engine::poll_timeout).flatten();
        let mut timer = self.timer.borrow_mut();
        match next {
            None => *timer = None,
            Some(at) if timer.as_ref().is_some_and(|(armed, _)| *armed == at) => {}
            Some(at) => {
                let me = self.me.clone();
                *timer = Timeout::new(at - now(), move || {
                    if let Some(driver) = me.upgrade() {
                        driver.on_timer();
                    }
                })
                .map(|timeout| (at, timeout));
            }
        }
    }

    fn on_timer(&self) {
        // The fired timer is spent: forget it, so that the next deadline arms a new one even
        // if it is the same instant.
        let _spent = self.timer.borrow_mut().take();
        self.deliver(Input::Timer);
    }

    fn load_bucketing_engine(&self, url: Option<String>) {
        let me = self.me.clone();
        bucketing_engine::load_engine(url.as_deref(), move |loaded| {
            let Some(driver) = me.upgrade() else { return };
            let result = loaded.map(|engine| *driver.bucketing.borrow_mut() = Some(engine));
            driver.deliver(Input::BucketingEngine(result));
        });
    }

    /// Tells the page's listeners; a payload is built only when someone listens.
    fn emit(&self, event: PageEvent) {
        let kind = match &event {
            PageEvent::Change { .. } => Event::Change,
            PageEvent::Flags => Event::Flags,
            PageEvent::Warning { .. } => Event::Warning,
        };
        let callbacks = self.listeners.borrow().of(kind);
        if callbacks.is_empty() {
            if let (PageEvent::Warning { code, message }, Some(unheard)) =
                (&event, self.unheard_warnings.borrow_mut().as_mut())
            {
                if unheard.len() < MAX_UNHEARD_WARNINGS {
                    unheard.push((code, message.clone()));
                }
            }
            return;
        }
        let payload = match event {
            PageEvent::Change {
                reason,
                visitor_id,
                anonymous_id,
            } => {
                let object = js_sys::Object::new();
                js::set(&object, "visitorId", &js::text(visitor_id.as_deref()));
                js::set(&object, "anonymousId", &js::text(anonymous_id.as_deref()));
                js::set(&object, "reason", &JsValue::from_str(reason.as_str()));
                object.into()
            }
            PageEvent::Flags => self
                .peek(|engine| js::flags_object(engine.flags()))
                .unwrap_or(JsValue::NULL),
            PageEvent::Warning { code, message } => js::error_object(code, &message),
        };
        dispatch(&callbacks, &payload, self.log_level);
    }
}
