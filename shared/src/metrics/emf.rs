//! The Lambdas' rendering: CloudWatch Embedded Metric Format, one JSON log line per document.
//! CloudWatch Logs turns each into metric data points, so a Lambda needs neither a port nor a
//! `PutMetricData` call. The shape follows AWS's specification ("Specification: Embedded metric
//! format", Amazon CloudWatch User Guide): a root object whose `_aws` member holds `Timestamp`
//! (epoch milliseconds) and `CloudWatchMetrics`, an array of directives
//! `{Namespace, Dimensions: [[key, …]], Metrics: [{Name, Unit}]}`; every dimension key is a
//! string member of the root and every metric name a member holding a number or an array of at
//! most 100 numbers.
//!
//! A flush reports what changed since the previous one: counter deltas (zero deltas are left
//! out) and each attempt's duration as a value, so CloudWatch computes sums and percentiles.

use super::{Label, Metrics};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The CloudWatch namespace of every Switchboard metric.
pub const NAMESPACE: &str = "Switchboard";

/// The most values one metric may carry in one document (the specification's limit).
pub const MAX_VALUES: usize = 100;

/// What the next flush reports beyond the counters' current values.
#[derive(Default)]
pub(super) struct Pending {
    /// Attempt durations recorded since the last flush, in milliseconds.
    pub durations_ms: Vec<f64>,
    /// Each counter series' value at the last flush.
    reported: HashMap<(&'static str, Vec<Label>), u64>,
}

/// One metric of a flush: its values and the dimensions (label pairs) they belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: &'static str,
    /// A CloudWatch unit (`Count`, `Milliseconds`, …).
    pub unit: &'static str,
    pub dimensions: Vec<Label>,
    pub values: Vec<f64>,
}

/// The CloudWatch dimension name of a label.
fn dimension_name(label: &'static str) -> &'static str {
    match label {
        "outcome" => "Outcome",
        "op" => "Operation",
        "error" => "Error",
        other => other,
    }
}

/// The EMF documents for `series`: one per distinct set of dimension values (more when a metric
/// has over [`MAX_VALUES`] values), each with the `Function` dimension first.
pub fn documents(
    namespace: &str,
    function: &str,
    timestamp_ms: i64,
    series: &[Series],
) -> Vec<Value> {
    let mut groups: Vec<(&[Label], Vec<&Series>)> = Vec::new();
    for s in series {
        match groups
            .iter_mut()
            .find(|(dims, _)| *dims == s.dimensions.as_slice())
        {
            Some((_, members)) => members.push(s),
            None => groups.push((&s.dimensions, vec![s])),
        }
    }
    let mut docs = Vec::new();
    for (dims, members) in groups {
        let chunks = members
            .iter()
            .map(|s| s.values.len().div_ceil(MAX_VALUES))
            .max()
            .unwrap_or(0);
        for chunk in 0..chunks {
            let mut root = Map::new();
            root.insert("Function".into(), json!(function));
            let mut keys = vec![json!("Function")];
            for (label, value) in dims {
                root.insert(dimension_name(label).into(), json!(value));
                keys.push(json!(dimension_name(label)));
            }
            let mut definitions = Vec::new();
            for s in &members {
                let Some(part) = s.values.chunks(MAX_VALUES).nth(chunk) else {
                    continue;
                };
                let value = match part {
                    [one] => json!(one),
                    many => json!(many),
                };
                root.insert(s.name.into(), value);
                definitions.push(json!({"Name": s.name, "Unit": s.unit}));
            }
            root.insert(
                "_aws".into(),
                json!({
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [keys],
                        "Metrics": definitions,
                    }],
                }),
            );
            docs.push(Value::Object(root));
        }
    }
    docs
}

impl Metrics {
    /// The EMF documents for what changed since the previous call (nothing when this process
    /// was not built [`Metrics::with_emf`]). The Lambda wiring calls [`Metrics::flush_emf`].
    pub fn take_emf(&self, function: &str, timestamp_ms: i64) -> Vec<Value> {
        let Some(pending) = &self.emf else {
            return Vec::new();
        };
        let counters = self.counters();
        let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut series = Vec::new();
        for counter in counters {
            let previous = pending
                .reported
                .insert((counter.name, counter.labels.clone()), counter.value)
                .unwrap_or(0);
            let delta = counter.value.saturating_sub(previous);
            if delta > 0 {
                series.push(Series {
                    name: counter.name,
                    unit: "Count",
                    dimensions: counter.labels,
                    values: vec![delta as f64],
                });
            }
        }
        let durations = std::mem::take(&mut pending.durations_ms);
        drop(pending);
        if !durations.is_empty() {
            series.push(Series {
                name: "AttemptDuration",
                unit: "Milliseconds",
                dimensions: Vec::new(),
                values: durations,
            });
        }
        documents(NAMESPACE, function, timestamp_ms, &series)
    }

    /// Writes what changed since the last flush to stdout as EMF lines, where the Lambda
    /// runtime hands them to CloudWatch Logs. Called once per invocation by the Lambda wiring.
    pub fn flush_emf(&self, function: &str) {
        let now = chrono::Utc::now().timestamp_millis();
        for doc in self.take_emf(function, now) {
            println!("{doc}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{DeliveryOutcome, IntakeOutcome};
    use std::time::Duration;

    /// The CloudWatch units the specification allows.
    const UNITS: [&str; 27] = [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    /// Checks one document against the specification's structure and limits.
    fn assert_spec_shape(doc: &Value) {
        let root = doc.as_object().expect("a document is a JSON object");
        let aws = root["_aws"].as_object().expect("_aws is an object");
        assert!(
            aws["Timestamp"].is_i64(),
            "Timestamp is epoch millis: {doc}"
        );
        let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
        assert!(!directives.is_empty());
        for directive in directives {
            let ns = directive["Namespace"].as_str().expect("Namespace");
            assert!((1..=1024).contains(&ns.len()));
            for set in directive["Dimensions"].as_array().expect("Dimensions") {
                let set = set.as_array().expect("a dimension set is an array");
                assert!(set.len() <= 30);
                for key in set {
                    let key = key.as_str().expect("dimension keys are strings");
                    assert!(root[key].is_string(), "dimension {key} is a string member");
                }
            }
            let metrics = directive["Metrics"].as_array().expect("Metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let name = m["Name"].as_str().expect("Name");
                assert!(UNITS.contains(&m["Unit"].as_str().expect("Unit")));
                match &root[name] {
                    Value::Number(_) => {}
                    Value::Array(values) => {
                        assert!(!values.is_empty() && values.len() <= MAX_VALUES);
                        assert!(values.iter().all(Value::is_number));
                    }
                    other => panic!("{name} holds {other}"),
                }
            }
        }
    }

    #[test]
    fn a_flush_renders_deltas_in_the_specified_shape() {
        let metrics = Metrics::with_emf();
        metrics.attempt(DeliveryOutcome::Succeeded, Duration::from_millis(12));
        metrics.attempt(DeliveryOutcome::Succeeded, Duration::from_millis(30));
        metrics.attempt(DeliveryOutcome::Retrying, Duration::from_millis(7));
        metrics.delivery(DeliveryOutcome::Skipped);
        metrics.published();
        metrics.intake(IntakeOutcome::Rejected);
        metrics.store_error(
            crate::metrics::store::StoreOp::Put,
            &crate::store::StoreError::Unavailable("down".into()),
        );
        let docs = metrics.take_emf("delivery", 1_700_000_000_000);
        for doc in &docs {
            assert_spec_shape(doc);
            assert_eq!(doc["_aws"]["Timestamp"], json!(1_700_000_000_000_i64));
            assert_eq!(
                doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
                "Switchboard"
            );
            assert_eq!(doc["Function"], "delivery");
        }
        let find = |name: &str, dim: Option<(&str, &str)>| {
            docs.iter()
                .find(|d| {
                    d.get(name).is_some() && dim.is_none_or(|(k, v)| d.get(k) == Some(&json!(v)))
                })
                .unwrap_or_else(|| panic!("no {name} {dim:?} in {docs:?}"))
                .clone()
        };
        let succeeded = find("Deliveries", Some(("Outcome", "succeeded")));
        assert_eq!(succeeded["Deliveries"], json!(2.0));
        assert_eq!(
            succeeded["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "Outcome"]])
        );
        assert_eq!(
            find("Deliveries", Some(("Outcome", "retrying")))["Deliveries"],
            json!(1.0)
        );
        assert_eq!(
            find("Deliveries", Some(("Outcome", "skipped")))["Deliveries"],
            json!(1.0)
        );
        let plain = find("AttemptDuration", None);
        assert_eq!(plain["AttemptDuration"], json!([12.0, 30.0, 7.0]));
        assert_eq!(
            plain["EventsPublished"],
            json!(1.0),
            "same dimensions, same document"
        );
        assert_eq!(
            plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        assert_eq!(
            plain["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "EventsPublished", "Unit": "Count"},
                   {"Name": "AttemptDuration", "Unit": "Milliseconds"}])
        );
        assert_eq!(
            find("IntakeRequests", Some(("Outcome", "rejected")))["IntakeRequests"],
            json!(1.0)
        );
        let store = find("StoreErrors", Some(("Operation", "put")));
        assert_eq!(store["Error"], "unavailable");
        assert_eq!(
            store["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "Operation", "Error"]])
        );

        // The next flush reports only what happened since.
        metrics.published();
        let docs = metrics.take_emf("delivery", 1_700_000_001_000);
        assert_eq!(docs.len(), 1, "{docs:?}");
        assert_eq!(docs[0]["EventsPublished"], json!(1.0));
        assert!(docs[0].get("AttemptDuration").is_none());
        assert!(metrics.take_emf("delivery", 0).is_empty(), "nothing new");
    }

    #[test]
    fn more_than_100_values_are_split_over_documents() {
        let metrics = Metrics::with_emf();
        for ms in 0..150 {
            metrics.attempt(DeliveryOutcome::Succeeded, Duration::from_millis(ms));
        }
        let docs = metrics.take_emf("delivery", 1);
        let with_durations: Vec<&Value> = docs
            .iter()
            .filter(|d| d.get("AttemptDuration").is_some())
            .collect();
        assert_eq!(with_durations.len(), 2);
        for doc in &docs {
            assert_spec_shape(doc);
        }
        let total: usize = with_durations
            .iter()
            .map(|d| d["AttemptDuration"].as_array().map_or(1, Vec::len))
            .sum();
        assert_eq!(total, 150);
    }

    #[test]
    fn a_scraped_process_emits_no_emf() {
        let metrics = Metrics::new();
        metrics.published();
        assert!(metrics.take_emf("serve", 0).is_empty());
    }
}
