//! The flag store: typed reads with defaults over one decision.
//!
//! Built once per decision so that a read is a hash lookup and a type check. The store also says
//! whether a read should expose the visitor (send an activation), which keeps that rule next to
//! the typing rule it depends on.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::model::{Campaign, Decision};
use crate::json::Value;

/// The JS type a caller expects, taken from the default it passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `boolean`.
    Bool,
    /// `number`.
    Number,
    /// `string`.
    String,
    /// An array.
    Array,
    /// A plain object.
    Object,
    /// The default was `null`/`undefined`: any non-null value is accepted.
    Any,
}

impl ValueKind {
    fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (ValueKind::Any, _)
                | (ValueKind::Bool, Value::Bool(_))
                | (ValueKind::Number, Value::Number(_))
                | (ValueKind::String, Value::String(_))
                | (ValueKind::Array, Value::Array(_))
                | (ValueKind::Object, Value::Object(_))
        )
    }
}

/// Why a read returned what it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The flag's value, of the expected type.
    Value,
    /// No campaign sets this key (or panic mode): default, no exposure.
    Missing,
    /// The visitor's variation leaves this key unset (`null`): default, exposure still sent, because
    /// the visitor did see that variation.
    NullValue,
    /// The value is of another type than the default: default, no exposure, so a broken read does
    /// not pollute the campaign's statistics.
    TypeMismatch,
}

/// Result of [`FlagStore::read`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagRead<'a> {
    /// `Some` only for [`ReadOutcome::Value`]; otherwise the caller returns its default.
    pub value: Option<&'a Value>,
    /// Index (in [`FlagStore::campaigns`]) of the campaign to expose the visitor to, if this
    /// read should send an activation.
    pub expose: Option<usize>,
    /// What happened.
    pub outcome: ReadOutcome,
}

/// Where a flag's value comes from, in the shape of the official SDK's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagMetadata<'a> {
    /// Campaign ID.
    pub campaign_id: &'a str,
    /// Campaign name.
    pub campaign_name: Option<&'a str>,
    /// Campaign slug.
    pub slug: Option<&'a str>,
    /// Campaign type.
    pub campaign_type: Option<&'a str>,
    /// Variation group ID.
    pub variation_group_id: &'a str,
    /// Variation group name.
    pub variation_group_name: Option<&'a str>,
    /// Variation ID.
    pub variation_id: &'a str,
    /// Variation name.
    pub variation_name: Option<&'a str>,
    /// True for the reference variation.
    pub is_reference: bool,
}

impl<'a> FlagMetadata<'a> {
    /// Metadata of `campaign`.
    pub fn of(campaign: &'a Campaign) -> Self {
        FlagMetadata {
            campaign_id: &campaign.id,
            campaign_name: campaign.name.as_deref(),
            slug: campaign.slug.as_deref(),
            campaign_type: campaign.kind.as_deref(),
            variation_group_id: &campaign.variation_group_id,
            variation_group_name: campaign.variation_group_name.as_deref(),
            variation_id: &campaign.variation.id,
            variation_name: campaign.variation.name.as_deref(),
            is_reference: campaign.variation.reference,
        }
    }
}

/// Metadata as the loaders read it, with the official SDK's field names.
pub fn write_metadata(out: &mut String, m: &FlagMetadata<'_>) {
    crate::json::ObjectWriter::new(out)
        .string("campaignId", m.campaign_id)
        .opt_string("campaignName", m.campaign_name)
        .opt_string("slug", m.slug)
        .opt_string("campaignType", m.campaign_type)
        .string("variationGroupId", m.variation_group_id)
        .opt_string("variationGroupName", m.variation_group_name)
        .string("variationId", m.variation_id)
        .opt_string("variationName", m.variation_name)
        .bool("isReference", m.is_reference)
        .finish();
}

/// Flags of one decision.
///
/// Reads scan the campaigns' flags rather than a hash index: a decision sets a few dozen keys,
/// repeated reads are answered in JavaScript (`browser::read_cache`), and the module then
/// carries no hash table code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlagStore {
    campaigns: Vec<Arc<Campaign>>,
    panic: bool,
}

impl FlagStore {
    /// The flags of `decision`. When two campaigns set the same key, the first in server order
    /// wins, as in the Decision API's own `/flags` answer.
    pub fn new(decision: Decision) -> Self {
        FlagStore {
            campaigns: decision.campaigns,
            panic: decision.panic,
        }
    }

    /// True in panic mode: every read returns its default and nothing is exposed.
    pub fn is_panic(&self) -> bool {
        self.panic
    }

    /// The campaigns behind the flags.
    pub fn campaigns(&self) -> &[Arc<Campaign>] {
        &self.campaigns
    }

    /// The campaign that sets `key` first, its index and the value it gives.
    fn lookup(&self, key: &str) -> Option<(usize, &Campaign, &Value)> {
        self.campaigns.iter().enumerate().find_map(|(i, campaign)| {
            let value = campaign.variation.modifications.value.get(key)?;
            Some((i, &**campaign, value))
        })
    }

    /// Reads `key` expecting `kind`.
    pub fn read(&self, key: &str, kind: ValueKind) -> FlagRead<'_> {
        let (value, expose, outcome) = match self.lookup(key) {
            None => (None, None, ReadOutcome::Missing),
            Some((i, _, Value::Null)) => (None, Some(i), ReadOutcome::NullValue),
            Some((i, _, value)) if kind.accepts(value) => {
                (Some(value), Some(i), ReadOutcome::Value)
            }
            Some(_) => (None, None, ReadOutcome::TypeMismatch),
        };
        FlagRead {
            value,
            expose,
            outcome,
        }
    }

    /// The campaign behind `key` and its index, for metadata and explicit exposure.
    pub fn campaign_of(&self, key: &str) -> Option<(usize, &Campaign)> {
        self.lookup(key).map(|(i, campaign, _)| (i, campaign))
    }

    /// Every flag with a non-null value, as key → value, each key once: the value a read of it
    /// returns (its first campaign's; within that campaign, the last of a repeated key).
    pub fn values(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.campaigns
            .iter()
            .enumerate()
            .flat_map(move |(i, campaign)| {
                let flags = &campaign.variation.modifications.value;
                flags.iter().filter(move |(key, value)| {
                    !value.is_null()
                        && flags
                            .get(key)
                            .is_some_and(|last| core::ptr::eq(last, *value))
                        && self.campaigns[..i]
                            .iter()
                            .all(|earlier| earlier.variation.modifications.value.get(key).is_none())
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::model::parse_decision;
    use crate::json::{self, Value};
    use serde_json::json;

    /// A core value from JSON text written with `json!`.
    fn v(value: serde_json::Value) -> Value {
        json::parse(&value.to_string()).unwrap()
    }

    fn store() -> FlagStore {
        let body = json!({"visitorId": "A", "campaigns": [
            {"id": "c1", "name": "Buttons", "variationGroupId": "vg1",
             "variation": {"id": "v1", "name": "Blue", "modifications": {"type": "FLAG",
                "value": {"btnColor": "blue", "discount": null, "size": 3, "on": true,
                          "list": [1, 2], "obj": {"a": 1}}}}},
            {"id": "c2", "variationGroupId": "vg2",
             "variation": {"id": "v9", "reference": true, "modifications": {"type": "FLAG",
                "value": {"btnColor": "green", "banner": "sale"}}}}
        ]});
        FlagStore::new(parse_decision(&body.to_string()).unwrap())
    }

    #[test]
    fn typed_reads() {
        let s = store();
        let r = s.read("btnColor", ValueKind::String);
        assert_eq!(
            (r.value, r.outcome),
            (Some(&v(json!("blue"))), ReadOutcome::Value)
        );
        assert_eq!(s.campaigns()[r.expose.unwrap()].id, "c1");
        assert_eq!(s.read("size", ValueKind::Number).value, Some(&v(json!(3))));
        assert_eq!(s.read("on", ValueKind::Bool).value, Some(&v(json!(true))));
        assert_eq!(
            s.read("list", ValueKind::Array).value,
            Some(&v(json!([1, 2])))
        );
        assert_eq!(
            s.read("obj", ValueKind::Object).value,
            Some(&v(json!({"a": 1})))
        );
        assert_eq!(s.read("size", ValueKind::Any).value, Some(&v(json!(3))));
    }

    #[test]
    fn defaults_and_exposure_rules() {
        let s = store();
        let missing = s.read("nope", ValueKind::String);
        assert_eq!(
            (missing.value, missing.expose, missing.outcome),
            (None, None, ReadOutcome::Missing)
        );
        let null = s.read("discount", ValueKind::Number);
        assert_eq!((null.value, null.outcome), (None, ReadOutcome::NullValue));
        assert_eq!(s.campaigns()[null.expose.unwrap()].variation.id, "v1");
        let mismatch = s.read("btnColor", ValueKind::Number);
        assert_eq!(
            (mismatch.value, mismatch.expose, mismatch.outcome),
            (None, None, ReadOutcome::TypeMismatch)
        );
        assert_eq!(
            s.read("list", ValueKind::Object).outcome,
            ReadOutcome::TypeMismatch
        );
    }

    #[test]
    fn first_campaign_wins_a_shared_key() {
        let s = store();
        assert_eq!(s.campaign_of("btnColor").unwrap().1.id, "c1");
        assert_eq!(s.campaign_of("banner").unwrap().1.id, "c2");
    }

    #[test]
    fn metadata_comes_from_the_campaign_behind_the_key() {
        let s = store();
        let m = FlagMetadata::of(s.campaign_of("banner").unwrap().1);
        assert_eq!(
            m,
            FlagMetadata {
                campaign_id: "c2",
                campaign_name: None,
                slug: None,
                campaign_type: None,
                variation_group_id: "vg2",
                variation_group_name: None,
                variation_id: "v9",
                variation_name: None,
                is_reference: true,
            }
        );
        let c1 = FlagMetadata::of(s.campaign_of("btnColor").unwrap().1);
        assert_eq!(
            (c1.campaign_name, c1.variation_name),
            (Some("Buttons"), Some("Blue"))
        );
    }

    #[test]
    fn values_skip_nulls() {
        let s = store();
        let mut keys: Vec<_> = s.values().map(|(k, _)| k).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["banner", "btnColor", "list", "obj", "on", "size"]);
    }

    #[test]
    fn issue_22_a_number_out_of_range_costs_only_its_own_flag() {
        // `1e400` anywhere in an answer used to refuse the whole answer (DECISION_MALFORMED),
        // blanking every flag. It reads as null: that flag serves its default (exposing, as
        // any null flag does), nested it is a null item, and every other flag is untouched.
        let body = r#"{"visitorId":"A","campaigns":[{"id":"c1","variationGroupId":"vg1",
            "variation":{"id":"v1","modifications":{"type":"FLAG","value":{
                "big":1e400,"small":-1e400,"list":[1,1e400],"color":"blue"}}}}]}"#;
        let s = FlagStore::new(parse_decision(body).unwrap());
        for key in ["big", "small"] {
            let read = s.read(key, ValueKind::Number);
            assert_eq!(
                (read.value, read.expose, read.outcome),
                (None, Some(0), ReadOutcome::NullValue),
                "{key}"
            );
        }
        assert_eq!(
            s.read("list", ValueKind::Array).value,
            Some(&v(json!([1, null])))
        );
        assert_eq!(
            s.read("color", ValueKind::String).value,
            Some(&v(json!("blue")))
        );
        let mut listed: Vec<_> = s.values().map(|(k, _)| k).collect();
        listed.sort_unstable();
        assert_eq!(listed, ["color", "list"], "getFlags() leaves the null out");
    }

    #[test]
    fn issue_22_get_flags_lists_a_repeated_key_once_with_the_value_a_read_returns() {
        // Found by the decision_answer fuzz target: `{"k":"blue",…,"k":"green"}` was listed
        // twice by getFlags() (blue, then green); `{"k":1,"k":null}` listed 1 where getFlag
        // reads null. A repeated key is its last value, as JSON.parse makes it.
        let body = r#"{"visitorId":"A","campaigns":[{"id":"c1","variationGroupId":"vg1",
            "variation":{"id":"v1","modifications":{"type":"FLAG","value":{
                "color":"blue","size":6,"color":"green","gone":1,"gone":null}}}}]}"#;
        let s = FlagStore::new(parse_decision(body).unwrap());
        let listed: Vec<_> = s.values().collect();
        assert_eq!(
            listed,
            [("size", &v(json!(6))), ("color", &v(json!("green")))]
        );
        assert_eq!(
            s.read("color", ValueKind::String).value,
            Some(&v(json!("green")))
        );
        assert_eq!(
            s.read("gone", ValueKind::Any).outcome,
            ReadOutcome::NullValue
        );
    }

    #[test]
    fn empty_store_reads_defaults() {
        let s = FlagStore::default();
        assert_eq!(s.read("x", ValueKind::Any).outcome, ReadOutcome::Missing);
    }
}
