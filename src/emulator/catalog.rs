//! Names behind the IDs of an activation: `(caid, vaid)` → campaign and variation.
//!
//! The connector turns an activation into Segment's `Experiment Viewed`, which wants names the
//! activation does not carry. They are read here from the same bucketing file with
//! `crate::json`, independently of the engine, whose parsed form keeps its fields private: the
//! emulator needs a lookup by ID, the engine a walk by visitor, and neither should bend for the
//! other.

use std::collections::HashMap;

use crate::json::Value;

/// What the connector reports about one variation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariationInfo {
    /// Campaign ID (`experiment_id`).
    pub campaign_id: String,
    /// Campaign name (`experiment_name`); the ID when the file has no name.
    pub campaign_name: String,
    /// Variation name (`variation_name`); the ID when the file has no name.
    pub variation_name: String,
}

/// Every variation of a bucketing file, by (variation group ID, variation ID).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    by_ids: HashMap<(String, String), VariationInfo>,
}

impl Catalog {
    /// Indexes `file`; entries without IDs are skipped (the engine refuses such files anyway).
    pub fn new(file: &Value) -> Catalog {
        let mut by_ids = HashMap::new();
        let list = |v: &Value, key: &str| -> Vec<Value> {
            v.get(key)
                .and_then(Value::as_array)
                .map(<[Value]>::to_vec)
                .unwrap_or_default()
        };
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        for campaign in list(file, "campaigns") {
            let Some(campaign_id) = text(&campaign, "id") else {
                continue;
            };
            let campaign_name = text(&campaign, "name").unwrap_or_else(|| campaign_id.clone());
            for group in list(&campaign, "variationGroups") {
                let Some(group_id) = text(&group, "id") else {
                    continue;
                };
                for variation in list(&group, "variations") {
                    let Some(variation_id) = text(&variation, "id") else {
                        continue;
                    };
                    let info = VariationInfo {
                        campaign_id: campaign_id.clone(),
                        campaign_name: campaign_name.clone(),
                        variation_name: text(&variation, "name")
                            .unwrap_or_else(|| variation_id.clone()),
                    };
                    by_ids.insert((group_id.clone(), variation_id), info);
                }
            }
        }
        Catalog { by_ids }
    }

    /// The variation `vaid` of variation group `caid`.
    pub fn lookup(&self, caid: &str, vaid: &str) -> Option<&VariationInfo> {
        self.by_ids.get(&(caid.to_owned(), vaid.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn finds_names_by_group_and_variation() {
        let file = parse(
            r#"{"campaigns":[{"id":"c1","name":"Buttons","variationGroups":[{"id":"vg1",
               "variations":[{"id":"v1","name":"Blue"},{"id":"v2"}]}]}]}"#,
        )
        .unwrap();
        let catalog = Catalog::new(&file);
        assert_eq!(
            catalog.lookup("vg1", "v1"),
            Some(&VariationInfo {
                campaign_id: "c1".into(),
                campaign_name: "Buttons".into(),
                variation_name: "Blue".into(),
            })
        );
        assert_eq!(catalog.lookup("vg1", "v2").unwrap().variation_name, "v2");
        // caid is the variation group, never the campaign.
        assert_eq!(catalog.lookup("c1", "v1"), None);
    }
}
