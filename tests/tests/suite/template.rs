//! The SAM template against the code it deploys. `cfn-lint` and checkov review the template on
//! its own (scripts/test.sh); these tests check what only the code knows: the table the DynamoDB
//! adapter is built and tested on, the attribute it expires items by, the queue's receive limit,
//! the timeouts the code is written around, and the event source settings the delivery handler
//! relies on. The template deploys only the AWS adapter set, so the store checks run on moto.

use std::collections::BTreeSet;
use std::time::Duration;
use switchboard::delivery::TEST_SEND_TIMEOUT;
use switchboard::queue::MAX_RECEIVES;
use switchboard::store::dynamo::{DynamoStore, create_table};
use switchboard::store::{ItemKey, Store};
use switchboard_tests::{sdk_config, unique};

const TEMPLATE: &str = include_str!("../../../template.yaml");

/// API Gateway's HTTP API ends every integration after 30 s, whatever the function's timeout.
const HTTP_API_INTEGRATION_LIMIT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------ a reader for the template

/// Where a key sits in the template: its line and its indentation.
struct Found {
    line: usize,
    indent: usize,
}

/// Finds the key at `path` by indentation, each key below the one before it. The template's
/// own block layout is all this needs; a YAML parser would also have to know CloudFormation's
/// `!Ref`/`!If` tags. A list item's `- ` counts as indentation.
fn find(lines: &[&str], path: &[&str]) -> Found {
    let mut from = 0;
    let mut to = lines.len();
    let mut parent: Option<usize> = None;
    let mut found = None;
    for key in path {
        let hit = (from..to).find_map(|i| {
            let (indent, text) = entry(lines[i])?;
            let deeper = parent.is_none_or(|p| indent > p);
            (deeper && text.starts_with(&format!("{key}:"))).then_some(Found { line: i, indent })
        });
        let Some(hit) = hit else {
            panic!("template.yaml has no {}", path.join("/"))
        };
        from = hit.line + 1;
        to = (from..to)
            .find(|&i| entry(lines[i]).is_some_and(|(indent, _)| indent <= hit.indent))
            .unwrap_or(to);
        parent = Some(hit.indent);
        found = Some(hit);
    }
    found.unwrap_or_else(|| panic!("empty path"))
}

/// A line's indentation and text, `- ` included in the indentation; `None` for blank lines and
/// comments.
fn entry(line: &str) -> Option<(usize, &str)> {
    let text = line.trim_start();
    if text.is_empty() || text.starts_with('#') {
        return None;
    }
    let indent = line.len() - text.len();
    Some(match text.strip_prefix("- ") {
        Some(rest) => (indent + 2, rest.trim_start()),
        None => (indent, text),
    })
}

/// The value written on the key's own line at `path`, unquoted.
fn value(path: &[&str]) -> String {
    let lines: Vec<&str> = TEMPLATE.lines().collect();
    let found = find(&lines, path);
    let (_, text) = entry(lines[found.line]).unwrap_or_else(|| panic!("{path:?}"));
    let (_, v) = text.split_once(':').unwrap_or_else(|| panic!("{path:?}"));
    v.trim().trim_matches('"').to_owned()
}

/// The value at `path` as a whole number.
fn number(path: &[&str]) -> u64 {
    let v = value(path);
    v.parse()
        .unwrap_or_else(|_| panic!("{} is {v:?}, not a number", path.join("/")))
}

/// The lines under the key at `path` (its block), as entries.
fn block(path: &[&str]) -> Vec<String> {
    let lines: Vec<&str> = TEMPLATE.lines().collect();
    let found = find(&lines, path);
    lines[found.line + 1..]
        .iter()
        .filter_map(|l| entry(l))
        .take_while(|(indent, _)| *indent > found.indent)
        .map(|(_, text)| text.to_owned())
        .collect()
}

/// `key: value` pairs of consecutive `first`/`second` entries in a block (e.g. `AttributeName`
/// then `KeyType`), in order.
fn pairs(entries: &[String], first: &str, second: &str) -> Vec<(String, String)> {
    let field = |text: &str, key: &str| {
        text.strip_prefix(&format!("{key}:"))
            .map(|v| v.trim().trim_matches('"').to_owned())
    };
    entries
        .windows(2)
        .filter_map(|w| Some((field(&w[0], first)?, field(&w[1], second)?)))
        .collect()
}

/// One global secondary index as the template or DynamoDB describes it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    name: String,
    keys: Vec<(String, String)>,
    projection: String,
}

fn template_indexes() -> Vec<Index> {
    let entries = block(&["Resources", "Table", "Properties", "GlobalSecondaryIndexes"]);
    let mut indexes = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let finish = |entries: &[String], out: &mut Vec<Index>| {
        if let Some(name) = entries.first().and_then(|e| e.strip_prefix("IndexName:")) {
            let projection = entries
                .iter()
                .find_map(|e| e.strip_prefix("ProjectionType:"))
                .unwrap_or("")
                .trim()
                .to_owned();
            out.push(Index {
                name: name.trim().to_owned(),
                keys: pairs(entries, "AttributeName", "KeyType"),
                projection,
            });
        }
    };
    for e in entries {
        if e.starts_with("IndexName:") {
            finish(&current, &mut indexes);
            current.clear();
        }
        current.push(e);
    }
    finish(&current, &mut indexes);
    indexes.sort();
    indexes
}

// ------------------------------------------------------------------ the table

/// The deployed table has the keys and indexes of the table the DynamoDB adapter is created
/// with (`create_table`) and tested on in the conformance suite.
#[tokio::test]
async fn table_has_the_adapters_keys_and_indexes() {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let name = unique("template-table");
    create_table(&client, &name).await.expect("create table");
    let table = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .expect("describe table")
        .table
        .expect("table description");

    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| (k.attribute_name.clone(), k.key_type.as_str().to_owned()))
            .collect()
    };
    assert_eq!(
        pairs(
            &block(&["Resources", "Table", "Properties", "KeySchema"]),
            "AttributeName",
            "KeyType"
        ),
        keys(table.key_schema()),
        "table key schema"
    );

    let template_attributes: BTreeSet<(String, String)> = pairs(
        &block(&["Resources", "Table", "Properties", "AttributeDefinitions"]),
        "AttributeName",
        "AttributeType",
    )
    .into_iter()
    .collect();
    let adapter_attributes: BTreeSet<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name.clone(),
                a.attribute_type.as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(template_attributes, adapter_attributes, "key attributes");

    let mut adapter_indexes: Vec<Index> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| Index {
            name: g.index_name().unwrap_or_default().to_owned(),
            keys: keys(g.key_schema()),
            projection: g
                .projection()
                .and_then(|p| p.projection_type())
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
        })
        .collect();
    adapter_indexes.sort();
    assert_eq!(
        template_indexes(),
        adapter_indexes,
        "global secondary indexes"
    );
    assert!(
        template_indexes().iter().any(|i| i.name == "GSI1"),
        "the table keeps GSI1"
    );

    assert_eq!(
        value(&["Resources", "Table", "Properties", "BillingMode"]),
        "PAY_PER_REQUEST",
        "on demand: no capacity to provision for the table or its indexes"
    );
}

/// DynamoDB deletes items by the attribute the template names for TTL; it must be the one the
/// adapter writes expiry into and hides expired items by, or nothing would ever be deleted.
#[tokio::test]
async fn ttl_attribute_is_the_one_the_adapter_expires_items_by() {
    let attribute = value(&[
        "Resources",
        "Table",
        "Properties",
        "TimeToLiveSpecification",
        "AttributeName",
    ]);
    assert_eq!(
        value(&[
            "Resources",
            "Table",
            "Properties",
            "TimeToLiveSpecification",
            "Enabled"
        ]),
        "true"
    );

    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let name = unique("template-ttl");
    create_table(&client, &name).await.expect("create table");
    let store = DynamoStore::new(client.clone(), name.clone());
    let expired_at = switchboard::store::now_epoch_seconds() - 60;
    let mut item = switchboard::store::Item::new();
    item.insert("PK".into(), "T#template".into());
    item.insert("SK".into(), "ttl".into());
    item.insert(attribute.clone(), expired_at.into());
    store.put(item, None).await.expect("put");

    let key = ItemKey::new("T#template", "ttl");
    assert!(
        store.get(&key).await.expect("get").is_none(),
        "the adapter hides an item whose `{attribute}` has passed"
    );
    let raw = client
        .get_item()
        .table_name(&name)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S("T#template".into()),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("ttl".into()),
        )
        .send()
        .await
        .expect("raw get")
        .item
        .expect("the expired item is still stored until DynamoDB deletes it");
    assert_eq!(
        raw.get(&attribute).and_then(|v| v.as_n().ok()),
        Some(&expired_at.to_string()),
        "stored as a number (epoch seconds), as DynamoDB's TTL requires"
    );
}

// ------------------------------------------------------------------ the queue and the functions

/// The redrive policy is the receive limit the worker counts down to (it marks the delivery
/// failed on the last receive, before SQS takes the job to the DLQ).
#[test]
fn redrive_limit_is_the_workers_receive_limit() {
    let template = number(&[
        "Resources",
        "DeliveryQueue",
        "Properties",
        "RedrivePolicy",
        "maxReceiveCount",
    ]);
    assert_eq!(template, u64::from(MAX_RECEIVES));
}

/// A job must stay hidden while its batch runs (at most the batching window plus the function's
/// timeout), and AWS asks for six times the timeout so that throttled or retried invocations do
/// not hand the same job to a second worker.
#[test]
fn visibility_timeout_outlasts_a_delivery_batch() {
    let visibility = number(&[
        "Resources",
        "DeliveryQueue",
        "Properties",
        "VisibilityTimeout",
    ]);
    let timeout = number(&["Resources", "DeliveryFunction", "Properties", "Timeout"]);
    let window = number(&["Parameters", "DeliveryBatchWindowSeconds", "MaxValue"]);
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} < 6 x {timeout}"
    );
    assert!(visibility >= window + timeout);
}

/// The admin function answers through the HTTP API, which gives up after 30 s; the inline test
/// send must end (as a recorded timeout) before the function does.
#[test]
fn admin_timeout_fits_between_the_test_send_and_the_http_api() {
    let timeout = Duration::from_secs(number(&[
        "Resources",
        "AdminFunction",
        "Properties",
        "Timeout",
    ]));
    assert!(
        timeout > TEST_SEND_TIMEOUT,
        "{timeout:?} <= {TEST_SEND_TIMEOUT:?}"
    );
    assert!(timeout < HTTP_API_INTEGRATION_LIMIT, "{timeout:?}");
}

/// The delivery handler answers with the failed items only; without `ReportBatchItemFailures`
/// Lambda would ignore that answer and delete every job of a batch that returned, retries
/// included.
#[test]
fn delivery_event_source_reports_batch_item_failures() {
    let events = block(&[
        "Resources",
        "DeliveryFunction",
        "Properties",
        "Events",
        "Deliveries",
    ]);
    assert!(
        events.iter().any(|e| e == "ReportBatchItemFailures"),
        "{events:?}"
    );
}

/// The event source's scaling and batching are parameters, and the delivery function reserves
/// exactly the concurrency the event source may use: the pollers are never throttled (which
/// would spend receives) and never ask for more than is reserved.
#[test]
fn delivery_scaling_and_batching_are_parameters() {
    let source = [
        "Resources",
        "DeliveryFunction",
        "Properties",
        "Events",
        "Deliveries",
        "Properties",
    ];
    let at = |rest: &[&str]| value(&[&source[..], rest].concat());
    assert_eq!(
        at(&["ScalingConfig", "MaximumConcurrency"]),
        "!Ref DeliveryMaxConcurrency"
    );
    assert_eq!(at(&["BatchSize"]), "!Ref DeliveryBatchSize");
    assert_eq!(
        at(&["MaximumBatchingWindowInSeconds"]),
        "!Ref DeliveryBatchWindowSeconds"
    );
    let reserved = value(&[
        "Resources",
        "DeliveryFunction",
        "Properties",
        "ReservedConcurrentExecutions",
    ]);
    assert!(
        reserved.contains("!Ref DeliveryMaxConcurrency"),
        "{reserved}"
    );
    // The event source accepts 2..=1000.
    assert_eq!(
        number(&["Parameters", "DeliveryMaxConcurrency", "MinValue"]),
        2
    );
    assert_eq!(
        number(&["Parameters", "DeliveryMaxConcurrency", "MaxValue"]),
        1000
    );
}
