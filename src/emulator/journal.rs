//! Everything the emulator received, forwarded and dropped, plus what the connector needs to
//! remember (the IDs Segment sent, each visitor's consent), behind one lock.
//!
//! One structure rather than several locks: the connector's verdict must be taken against the
//! seen IDs *at the moment* an item arrives, and recording the item and its verdict together keeps
//! `/_emulator/log` consistent for tests that read it between requests. Each list keeps the last
//! [`MAX_ENTRIES`] entries; counters count everything. Entries carry a global `seq` so a reader can
//! order events across lists.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use super::catalog::Catalog;
use super::connector::{judge, SeenIds, Subject, Verdict};
use crate::json::{write_value, Object, Value};
use crate::tracking::hits::{Hit, HitKind};

/// Entries kept per list; older ones are discarded so a long demo session stays bounded.
pub const MAX_ENTRIES: usize = 2_000;

/// The lists of `/_emulator/log`, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum List {
    /// `/campaigns` and `/flags` requests.
    Decisions,
    /// Activations from `/activate` and from `trigger_hit`.
    Activations,
    /// Collector hits.
    Hits,
    /// Calls on the Segment-shaped endpoint.
    Segment,
    /// Track events the connector sent on.
    Forwarded,
    /// Items the connector refused, with the reason.
    Dropped,
    /// Requests answered 4xx, with the reason.
    Rejected,
}

impl List {
    fn name(self) -> &'static str {
        match self {
            List::Decisions => "decisions",
            List::Activations => "activations",
            List::Hits => "hits",
            List::Segment => "segment",
            List::Forwarded => "forwarded",
            List::Dropped => "dropped",
            List::Rejected => "rejected",
        }
    }
}

/// Builds a JSON object from members; `Null` members are kept, so the log shows absent IDs.
pub fn obj(members: Vec<(&str, Value)>) -> Value {
    Value::Object(Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    ))
}

/// A string or `null`.
pub fn opt(value: Option<&str>) -> Value {
    value.map_or(Value::Null, Value::from)
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

/// One activation as received, whatever its source.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationItem {
    /// `vid`.
    pub vid: String,
    /// `aid`.
    pub aid: Option<String>,
    /// `caid`: variation group ID.
    pub caid: String,
    /// `vaid`: variation ID.
    pub vaid: String,
    /// `qt`, when sent.
    pub qt: Option<f64>,
}

/// The emulator's memory. See the module documentation.
#[derive(Debug, Default)]
pub struct Journal {
    seq: u64,
    lists: BTreeMap<List, VecDeque<Value>>,
    counters: BTreeMap<&'static str, u64>,
    seen: SeenIds,
    consent: HashMap<String, bool>,
}

impl Journal {
    /// Increments counter `name`.
    pub fn count(&mut self, name: &'static str) {
        *self.counters.entry(name).or_default() += 1;
    }

    /// Appends `entry` (an object) to `list`, stamped with `seq` and `at`.
    pub fn push(&mut self, list: List, entry: Value) {
        self.seq += 1;
        let mut members = vec![
            ("seq".to_owned(), Value::Number(self.seq as f64)),
            ("at".to_owned(), Value::Number(now_ms())),
        ];
        if let Value::Object(Object(more)) = entry {
            members.extend(more);
        }
        let queue = self.lists.entry(list).or_default();
        if queue.len() == MAX_ENTRIES {
            queue.pop_front();
        }
        queue.push_back(Value::Object(Object(members)));
    }

    /// Records a refused request.
    pub fn reject(&mut self, method: &str, path: &str, status: u16, reason: &str) {
        self.count("rejected");
        self.push(
            List::Rejected,
            obj(vec![
                ("method", method.into()),
                ("path", path.into()),
                ("status", Value::Number(f64::from(status))),
                ("reason", reason.into()),
            ]),
        );
    }

    /// Remembers the IDs of one Segment call and records it.
    pub fn segment_call(
        &mut self,
        user_id: Option<&str>,
        anonymous_id: Option<&str>,
        previous_id: Option<&str>,
        entry: Value,
    ) {
        for id in [user_id, previous_id].into_iter().flatten() {
            self.seen.user_ids.insert(id.to_owned());
        }
        if let Some(id) = anonymous_id {
            self.seen.anonymous_ids.insert(id.to_owned());
        }
        self.count("segment");
        self.push(List::Segment, entry);
    }

    /// Records the consent stated for `ids` (a decision's `visitor_consent`, a consent hit).
    pub fn set_consent(&mut self, ids: &[Option<&str>], granted: bool) {
        for id in ids.iter().flatten() {
            self.consent.insert((*id).to_owned(), granted);
        }
    }

    fn consent_of(&self, ids: &[Option<&str>]) -> Option<bool> {
        let known = ids.iter().flatten().filter_map(|id| self.consent.get(*id));
        known.fold(None, |acc, &c| Some(acc.unwrap_or(true) && c))
    }

    /// Records an activation and runs the connector on it.
    pub fn activation(
        &mut self,
        env_id: &str,
        item: &ActivationItem,
        source: &str,
        catalog: &Catalog,
    ) {
        self.count("activations");
        let info = catalog.lookup(&item.caid, &item.vaid);
        self.push(
            List::Activations,
            obj(vec![
                ("source", source.into()),
                ("cid", env_id.into()),
                ("vid", item.vid.as_str().into()),
                ("aid", opt(item.aid.as_deref())),
                ("caid", item.caid.as_str().into()),
                ("vaid", item.vaid.as_str().into()),
                ("qt", item.qt.map_or(Value::Null, Value::Number)),
                ("campaignId", opt(info.map(|i| i.campaign_id.as_str()))),
            ]),
        );
        let ids = [Some(item.vid.as_str()), item.aid.as_deref()];
        let subject = Subject {
            visitor_id: &item.vid,
            other_id: item.aid.as_deref(),
            other_is_customer_id: false,
            consent: self.consent_of(&ids),
        };
        let verdict = match (judge(&self.seen, subject), info) {
            (Verdict::Forward { .. }, None) => {
                Verdict::Drop("caid/vaid is not a variation of the bucketing file")
            }
            (verdict, _) => verdict,
        };
        let properties = info.map_or(Value::Null, |i| {
            obj(vec![
                ("experiment_id", i.campaign_id.as_str().into()),
                ("experiment_name", i.campaign_name.as_str().into()),
                ("variation_id", item.vaid.as_str().into()),
                ("variation_name", i.variation_name.as_str().into()),
                ("variation_group_id", item.caid.as_str().into()),
            ])
        });
        let ids = vec![
            ("vid", item.vid.as_str().into()),
            ("aid", opt(item.aid.as_deref())),
        ];
        self.connect("activation", "Experiment Viewed", properties, verdict, ids);
    }

    /// Records a collector hit and runs the connector on it; a consent hit updates consent
    /// instead of being forwarded (it is Flagship's own signal, not an analytics event).
    pub fn hit(&mut self, env_id: &str, hit: &Hit, raw: &Value) {
        self.count("hits");
        let mut members = vec![("cid", env_id.into())];
        if let Value::Object(object) = raw {
            members.extend(object.iter().map(|(k, v)| (k, v.clone())));
        }
        self.push(List::Hits, obj(members));
        let ids = [
            Some(hit.visitor_id.as_str()),
            hit.customer_user_id.as_deref(),
        ];
        if let Some(granted) = hit.consent_given() {
            self.set_consent(&ids, granted);
            return;
        }
        let subject = Subject {
            visitor_id: &hit.visitor_id,
            other_id: hit.customer_user_id.as_deref(),
            other_is_customer_id: true,
            consent: self.consent_of(&ids),
        };
        let verdict = judge(&self.seen, subject);
        let (event, properties) = hit_as_track(hit);
        let ids = vec![
            ("vid", hit.visitor_id.as_str().into()),
            ("cuid", opt(hit.customer_user_id.as_deref())),
        ];
        self.connect("hit", &event, properties, verdict, ids);
    }

    fn connect(
        &mut self,
        source: &str,
        event: &str,
        properties: Value,
        verdict: Verdict,
        ids: Vec<(&str, Value)>,
    ) {
        match verdict {
            Verdict::Forward {
                user_id,
                anonymous_id,
            } => {
                self.count("forwarded");
                self.push(
                    List::Forwarded,
                    obj(vec![
                        ("source", source.into()),
                        ("type", "track".into()),
                        ("event", event.into()),
                        ("userId", opt(user_id.as_deref())),
                        ("anonymousId", opt(anonymous_id.as_deref())),
                        ("properties", properties),
                    ]),
                );
            }
            Verdict::Drop(reason) => {
                self.count("dropped");
                let mut members = vec![
                    ("source", source.into()),
                    ("event", event.into()),
                    ("reason", reason.into()),
                ];
                members.extend(ids);
                self.push(List::Dropped, obj(members));
            }
        }
    }

    /// The whole journal as the JSON of `GET /_emulator/log`.
    pub fn to_json(&self) -> String {
        let mut members = vec![(
            "counters".to_owned(),
            Value::Object(Object(
                self.counters
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::Number(*v as f64)))
                    .collect(),
            )),
        )];
        let sorted = |set: &std::collections::HashSet<String>| {
            let mut ids: Vec<_> = set.iter().cloned().collect();
            ids.sort_unstable();
            Value::Array(ids.into_iter().map(Value::String).collect())
        };
        members.push((
            "seenIds".to_owned(),
            obj(vec![
                ("userIds", sorted(&self.seen.user_ids)),
                ("anonymousIds", sorted(&self.seen.anonymous_ids)),
            ]),
        ));
        for list in [
            List::Decisions,
            List::Activations,
            List::Hits,
            List::Segment,
            List::Forwarded,
            List::Dropped,
            List::Rejected,
        ] {
            let entries = self.lists.get(&list).map(|q| q.iter().cloned().collect());
            members.push((
                list.name().to_owned(),
                Value::Array(entries.unwrap_or_default()),
            ));
        }
        let mut out = String::new();
        write_value(&mut out, &Value::Object(Object(members)));
        out
    }
}

/// The Segment event a hit becomes. EVENT hits keep their own action; the other types take the
/// nearest Segment spec name (an emulator choice: AB Tasty does not document its mapping).
fn hit_as_track(hit: &Hit) -> (String, Value) {
    let num = |n: Option<f64>| n.map_or(Value::Null, Value::Number);
    match &hit.kind {
        HitKind::Event(e) => (
            e.action.clone(),
            obj(vec![
                ("category", e.category.as_str().into()),
                ("label", opt(e.label.as_deref())),
                ("value", num(e.value)),
            ]),
        ),
        HitKind::Transaction(t) => (
            "Order Completed".to_owned(),
            obj(vec![
                ("order_id", t.id.as_str().into()),
                ("affiliation", t.affiliation.as_str().into()),
                ("revenue", num(t.revenue)),
                ("tax", num(t.tax)),
                ("shipping", num(t.shipping)),
                ("currency", opt(t.currency.as_deref())),
                ("coupon", opt(t.coupon.as_deref())),
            ]),
        ),
        HitKind::Item(i) => (
            "Order Item".to_owned(),
            obj(vec![
                ("order_id", i.transaction_id.as_str().into()),
                ("name", i.name.as_str().into()),
                ("sku", i.code.as_str().into()),
                ("price", num(i.price)),
                ("quantity", num(i.quantity)),
                ("category", opt(i.category.as_deref())),
            ]),
        ),
        HitKind::PageView { url } => (
            "Page Viewed".to_owned(),
            obj(vec![("url", url.as_str().into())]),
        ),
    }
}
