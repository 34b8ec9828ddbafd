//! Hits for Flagship's collector (`POST {events}`): the wire model of contract §5, its rules, the
//! BATCH body writer and a parser for untrusted bodies.
//!
//! One model serves both ends: the browser module builds [`Hit`]s from page calls and writes them
//! with [`write_batch`]; the local emulator reads incoming bodies with [`parse_hits`] and refuses
//! what the real collector would, so a rule is stated once. Every refusal is a fixed
//! `&'static str` (no formatting in the wasm), paired with the index of the offending hit.
//!
//! Unknown keys are ignored rather than refused: the collector accepts extra fields (screen size,
//! referrer, …) and a stricter emulator would fail pages that work in production.

use crate::json::ObjectWriter;
use alloc::{borrow::ToOwned, string::String};

mod input;
mod parse;

pub use input::{hit_of_call, HitMethod};
pub use parse::{parse_hit, parse_hits, parse_hits_text, HitBatch, MAX_BATCH_HITS};

/// Largest integer a JSON number carries exactly (2^53 − 1): `ev`, `icn` and `iq` above it would
/// not survive the trip through JavaScript.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Bodies larger than this are refused unparsed. A full batch is a few KB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// `ea` of the consent hit.
pub const CONSENT_ACTION: &str = "fs_consent";

/// `ec`: the only two categories the collector accepts for EVENT hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCategory {
    /// `"Action Tracking"`: conversions and clicks.
    ActionTracking,
    /// `"User Engagement"`: engagement, and the consent hit.
    UserEngagement,
}

impl EventCategory {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            EventCategory::ActionTracking => "Action Tracking",
            EventCategory::UserEngagement => "User Engagement",
        }
    }

    /// The category named `s`, exactly as on the wire.
    pub fn parse(s: &str) -> Option<EventCategory> {
        match s {
            "Action Tracking" => Some(EventCategory::ActionTracking),
            "User Engagement" => Some(EventCategory::UserEngagement),
            _ => None,
        }
    }
}

/// `t: "EVENT"`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventHit {
    /// `ec`.
    pub category: EventCategory,
    /// `ea` (required, non-empty).
    pub action: String,
    /// `el`.
    pub label: Option<String>,
    /// `ev`: an integer ≥ 0.
    pub value: Option<f64>,
}

/// `t: "TRANSACTION"`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransactionHit {
    /// `tid` (required).
    pub id: String,
    /// `ta`: the affiliation, i.e. the goal name (required).
    pub affiliation: String,
    /// `tr`: revenue.
    pub revenue: Option<f64>,
    /// `tt`: tax.
    pub tax: Option<f64>,
    /// `ts`: shipping cost.
    pub shipping: Option<f64>,
    /// `tc`: ISO 4217 currency, three letters.
    pub currency: Option<String>,
    /// `tcc`: coupon code.
    pub coupon: Option<String>,
    /// `icn`: item count, an integer ≥ 0.
    pub item_count: Option<f64>,
    /// `sm`: shipping method.
    pub shipping_method: Option<String>,
    /// `pm`: payment method.
    pub payment_method: Option<String>,
}

/// `t: "ITEM"`: one line of a transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemHit {
    /// `tid`: the transaction this item belongs to (required).
    pub transaction_id: String,
    /// `in`: product name (required).
    pub name: String,
    /// `ic`: SKU (required).
    pub code: String,
    /// `ip`: unit price.
    pub price: Option<f64>,
    /// `iq`: quantity, an integer ≥ 0.
    pub quantity: Option<f64>,
    /// `iv`: category.
    pub category: Option<String>,
}

/// What a hit says, by type.
#[derive(Debug, Clone, PartialEq)]
pub enum HitKind {
    /// `EVENT` (the consent hit is one, see [`Hit::consent`]).
    Event(EventHit),
    /// `TRANSACTION`.
    Transaction(TransactionHit),
    /// `ITEM`.
    Item(ItemHit),
    /// `PAGEVIEW` with its `dl` (document location).
    PageView {
        /// `dl`: the page URL (required).
        url: String,
    },
}

impl HitKind {
    /// The wire value of `t`.
    pub fn type_name(&self) -> &'static str {
        match self {
            HitKind::Event(_) => "EVENT",
            HitKind::Transaction(_) => "TRANSACTION",
            HitKind::Item(_) => "ITEM",
            HitKind::PageView { .. } => "PAGEVIEW",
        }
    }
}

/// One hit and who it is about (contract §2: `vid` is always the anonymousId when Segment has
/// one, `cuid` the userId of an identified visitor).
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// `vid`.
    pub visitor_id: String,
    /// `cuid`.
    pub customer_user_id: Option<String>,
    /// `qt`: ms the hit waited in the queue before this send.
    pub queue_time_ms: f64,
    /// Type and type keys.
    pub kind: HitKind,
}

/// Why a hit or a body was refused: a fixed reason and, inside a batch, the hit's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HitError {
    /// Index in `h` of the offending hit; `None` for the envelope or a single-form body.
    pub index: Option<usize>,
    /// What is wrong, e.g. `"ea is required"`.
    pub reason: &'static str,
}

impl HitError {
    pub(crate) fn new(reason: &'static str) -> Self {
        HitError {
            index: None,
            reason,
        }
    }
}

impl Hit {
    /// The consent hit: an EVENT `User Engagement` / `fs_consent` labelled `"<client>:<granted>"`.
    pub fn consent(
        visitor_id: &str,
        customer_user_id: Option<&str>,
        client: &str,
        granted: bool,
    ) -> Hit {
        let mut label = String::with_capacity(client.len() + 6);
        label.push_str(client);
        label.push_str(if granted { ":true" } else { ":false" });
        Hit {
            visitor_id: visitor_id.to_owned(),
            customer_user_id: customer_user_id.map(str::to_owned),
            queue_time_ms: 0.0,
            kind: HitKind::Event(EventHit {
                category: EventCategory::UserEngagement,
                action: CONSENT_ACTION.to_owned(),
                label: Some(label),
                value: None,
            }),
        }
    }

    /// `Some(granted)` when this is a consent hit with a readable label.
    pub fn consent_given(&self) -> Option<bool> {
        let HitKind::Event(event) = &self.kind else {
            return None;
        };
        if event.action != CONSENT_ACTION {
            return None;
        }
        match event.label.as_deref()?.rsplit_once(':')?.1 {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// Checks every value rule of contract §5. Types are already guaranteed by the model.
    pub fn validate(&self) -> Result<(), &'static str> {
        if self.visitor_id.is_empty() {
            return Err("vid is required");
        }
        if self.customer_user_id.as_deref() == Some("") {
            return Err("cuid is empty");
        }
        if !non_negative(self.queue_time_ms) {
            return Err("qt is not a number >= 0");
        }
        match &self.kind {
            HitKind::Event(e) => {
                if e.action.is_empty() {
                    return Err("ea is required");
                }
                check_integer(e.value, "ev is not an integer >= 0")
            }
            HitKind::Transaction(t) => {
                if t.id.is_empty() {
                    return Err("tid is required");
                }
                if t.affiliation.is_empty() {
                    return Err("ta is required");
                }
                for amount in [t.revenue, t.tax, t.shipping].into_iter().flatten() {
                    if !amount.is_finite() {
                        return Err("tr, tt and ts must be finite numbers");
                    }
                }
                if let Some(currency) = &t.currency {
                    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
                        return Err("tc is not a 3-letter currency code");
                    }
                }
                check_integer(t.item_count, "icn is not an integer >= 0")
            }
            HitKind::Item(i) => {
                if i.transaction_id.is_empty() {
                    return Err("tid is required");
                }
                if i.name.is_empty() {
                    return Err("in is required");
                }
                if i.code.is_empty() {
                    return Err("ic is required");
                }
                if i.price.is_some_and(|p| !p.is_finite()) {
                    return Err("ip must be a finite number");
                }
                check_integer(i.quantity, "iq is not an integer >= 0")
            }
            HitKind::PageView { url } => {
                if url.is_empty() {
                    return Err("dl is required");
                }
                Ok(())
            }
        }
    }
}

fn non_negative(n: f64) -> bool {
    n.is_finite() && n >= 0.0
}

fn check_integer(n: Option<f64>, reason: &'static str) -> Result<(), &'static str> {
    match n {
        Some(n) if !(non_negative(n) && crate::num::fract(n) == 0.0 && n <= MAX_SAFE_INTEGER) => {
            Err(reason)
        }
        _ => Ok(()),
    }
}

/// Appends one hit object of a batch's `h`: `{"qt", "vid","cuid","t", …type keys}`. Absent
/// optional keys are left out, except `cuid`, which the contract always carries.
pub fn write_hit(out: &mut String, hit: &Hit) {
    let w = ObjectWriter::new(out).number("qt", hit.queue_time_ms);
    write_hit_fields(w, hit).finish();
}

/// The members of a hit object but `qt`, which the queue sets when the hit leaves.
pub fn write_hit_fields<'a>(w: ObjectWriter<'a>, hit: &Hit) -> ObjectWriter<'a> {
    let w = w
        .string("vid", &hit.visitor_id)
        .opt_string("cuid", hit.customer_user_id.as_deref())
        .string("t", hit.kind.type_name());
    match &hit.kind {
        HitKind::Event(e) => {
            let w = w.string("ec", e.category.as_str()).string("ea", &e.action);
            let w = opt_str(w, "el", e.label.as_deref());
            opt_num(w, "ev", e.value)
        }
        HitKind::Transaction(t) => {
            let w = w.string("tid", &t.id).string("ta", &t.affiliation);
            let w = opt_num(w, "tr", t.revenue);
            let w = opt_num(w, "tt", t.tax);
            let w = opt_num(w, "ts", t.shipping);
            let w = opt_str(w, "tc", t.currency.as_deref());
            let w = opt_str(w, "tcc", t.coupon.as_deref());
            let w = opt_num(w, "icn", t.item_count);
            let w = opt_str(w, "sm", t.shipping_method.as_deref());
            opt_str(w, "pm", t.payment_method.as_deref())
        }
        HitKind::Item(i) => {
            let w = w
                .string("tid", &i.transaction_id)
                .string("in", &i.name)
                .string("ic", &i.code);
            let w = opt_num(w, "ip", i.price);
            let w = opt_num(w, "iq", i.quantity);
            opt_str(w, "iv", i.category.as_deref())
        }
        HitKind::PageView { url } => w.string("dl", url),
    }
}

fn opt_str<'a>(w: ObjectWriter<'a>, key: &str, value: Option<&str>) -> ObjectWriter<'a> {
    match value {
        Some(s) => w.string(key, s),
        None => w,
    }
}

fn opt_num<'a>(w: ObjectWriter<'a>, key: &str, value: Option<f64>) -> ObjectWriter<'a> {
    match value {
        Some(n) => w.number(key, n),
        None => w,
    }
}

/// The BATCH body: `{"ds":"APP","cid":envId,"t":"BATCH","qt":0,"h":[…]}`.
pub fn write_batch(out: &mut String, env_id: &str, hits: &[Hit]) {
    ObjectWriter::new(out)
        .string("ds", "APP")
        .string("cid", env_id)
        .string("t", "BATCH")
        .number("qt", 0.0)
        .with("h", |out| {
            out.push('[');
            for (i, hit) in hits.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_hit(out, hit);
            }
            out.push(']');
        })
        .finish();
}

#[cfg(test)]
mod tests;
