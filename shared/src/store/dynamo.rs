//! The DynamoDB adapter: one table, `PK`/`SK` keys, `ttl` for expiry, items via `serde_dynamo`.
//!
//! DynamoDB deletes expired items lazily (and emulators never do), so every read filters on
//! `ttl` and every condition treats an expired item as absent, matching the embedded adapter.

use super::{
    Condition, Index, Item, ItemKey, Page, Query, SortKeyRange, Store, StoreError, TxOp, Update,
    is_expired, now_epoch_seconds,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType,
    TransactWriteItem,
};
use serde_json::Value;
use std::collections::HashMap;

type Attrs = HashMap<String, AttributeValue>;

/// The DynamoDB item store over one table.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Creates the table as `template.yaml` declares it (keys, GSI1, on-demand). For emulators and
/// `switchboard aws init`; production tables come from the SAM template.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))
    };
    let gsi = GlobalSecondaryIndex::builder()
        .index_name("GSI1")
        .key_schema(key("GSI1PK", KeyType::Hash)?)
        .key_schema(key("GSI1SK", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("PK")?)
        .attribute_definitions(attr("SK")?)
        .attribute_definitions(attr("GSI1PK")?)
        .attribute_definitions(attr("GSI1SK")?)
        .key_schema(key("PK", KeyType::Hash)?)
        .key_schema(key("SK", KeyType::Range)?)
        .global_secondary_indexes(gsi)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceInUseException") => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

fn unavailable<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    let code = e.code().unwrap_or("unknown").to_owned();
    let message = e.message().unwrap_or("").to_owned();
    match &e {
        // A request DynamoDB rejects as malformed is our bug, not an outage.
        SdkError::ServiceError(_) if code == "ValidationException" => {
            StoreError::Invalid(format!("dynamodb {code}: {message}"))
        }
        SdkError::ServiceError(_) => StoreError::Unavailable(format!("dynamodb {code}: {message}")),
        other => StoreError::Unavailable(format!("dynamodb: {other:?}")),
    }
}

fn to_attrs(item: &Item) -> Result<Attrs, StoreError> {
    serde_dynamo::to_item(item).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn from_attrs(attrs: Attrs) -> Result<Item, StoreError> {
    serde_dynamo::from_item(attrs).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_value(value: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn key_attrs(key: &ItemKey) -> Attrs {
    HashMap::from([
        ("PK".to_owned(), AttributeValue::S(key.pk.clone())),
        ("SK".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

/// Builds expression attribute names and values with unique placeholders.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#n{}", self.names.len());
        if let Some((p, _)) = self.names.iter().find(|(_, n)| *n == name) {
            return p.clone();
        }
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn now(&mut self) -> String {
        self.value(AttributeValue::N(now_epoch_seconds().to_string()))
    }

    fn live(&mut self) -> String {
        let ttl = self.name("ttl");
        let now = self.now();
        format!("(attribute_not_exists({ttl}) OR {ttl} >= {now})")
    }

    fn condition(&mut self, condition: &Condition) -> Result<String, StoreError> {
        Ok(match condition {
            Condition::Absent => {
                let pk = self.name("PK");
                let ttl = self.name("ttl");
                let now = self.now();
                format!("(attribute_not_exists({pk}) OR {ttl} < {now})")
            }
            Condition::Exists => {
                let pk = self.name("PK");
                format!("attribute_exists({pk}) AND {}", self.live())
            }
            Condition::AttrEquals(name, value) => {
                let n = self.name(name);
                let v = self.value(to_value(value)?);
                format!("{n} = {v} AND {}", self.live())
            }
            Condition::VersionEquals(version) => {
                let n = self.name("version");
                let v = self.value(AttributeValue::N(version.to_string()));
                format!("{n} = {v} AND {}", self.live())
            }
        })
    }

    /// The `ADD … SET …` expression of `update`.
    fn update(&mut self, update: &Update) -> Result<String, StoreError> {
        let mut adds = Vec::new();
        for (name, delta) in &update.add {
            let n = self.name(name);
            let v = self.value(AttributeValue::N(delta.to_string()));
            adds.push(format!("{n} {v}"));
        }
        let mut sets = Vec::new();
        for (name, value) in &update.set {
            let n = self.name(name);
            let v = self.value(to_value(value)?);
            sets.push(format!("{n} = {v}"));
        }
        let mut update_expr = String::new();
        if !adds.is_empty() {
            update_expr.push_str(&format!("ADD {}", adds.join(", ")));
        }
        if !sets.is_empty() {
            update_expr.push_str(&format!(" SET {}", sets.join(", ")));
        }
        if update_expr.is_empty() {
            return Err(StoreError::Invalid(
                "an update must change something".into(),
            ));
        }
        Ok(update_expr.trim().to_owned())
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Maps a failed conditional write: a failed condition, or the service being unavailable.
fn conditional<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    if e.code() == Some("ConditionalCheckFailedException") {
        StoreError::ConditionFailed
    } else {
        unavailable(e)
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match out.item {
            Some(attrs) => {
                let item = from_attrs(attrs)?;
                Ok((!is_expired(&item, now_epoch_seconds())).then_some(item))
            }
            None => Ok(None),
        }
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let cond = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&item)?))
            .set_condition_expression(cond)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map(|_| ())
            .map_err(conditional)
    }

    async fn delete(&self, key: &ItemKey, condition: Option<Condition>) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let cond = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map(|_| ())
            .map_err(conditional)
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        if query.limit == 0 || query.limit > 1000 {
            return Err(StoreError::Invalid("limit must be 1..=1000".into()));
        }
        let (pk_attr, sk_attr) = query.index.map_or(("PK", "SK"), Index::key_attributes);
        let mut expr = Expr::default();
        let pk_name = expr.name(pk_attr);
        let pk_value = expr.value(AttributeValue::S(query.pk.clone()));
        let mut key_cond = format!("{pk_name} = {pk_value}");
        // An index page resumes by narrowing the sort-key condition past `start_after` (index
        // sort keys are unique within a partition), since its ExclusiveStartKey would need the
        // table key of an item the caller never saw.
        let resume = query.index.and(query.start_after.as_deref());
        let (mut low, mut high) = match &query.range {
            SortKeyRange::All => (None, None),
            SortKeyRange::Prefix(p) if p.is_empty() => (None, None),
            SortKeyRange::Prefix(p) if resume.is_none() => {
                let sk_name = expr.name(sk_attr);
                let v = expr.value(AttributeValue::S(p.clone()));
                key_cond.push_str(&format!(" AND begins_with({sk_name}, {v})"));
                (None, None)
            }
            SortKeyRange::Prefix(p) => (Some(p.clone()), Some(format!("{p}\u{10FFFF}"))),
            SortKeyRange::Between(a, b) => (Some(a.clone()), Some(b.clone())),
        };
        if let Some(after) = resume {
            let bound = if query.forward { &mut low } else { &mut high };
            let tighter = match bound.take() {
                Some(b) if query.forward => b.max(after.to_owned()),
                Some(b) => b.min(after.to_owned()),
                None => after.to_owned(),
            };
            *bound = Some(tighter);
        }
        if low.is_some() || high.is_some() {
            let sk_name = expr.name(sk_attr);
            let cond = match (low, high) {
                (Some(a), Some(b)) => {
                    let va = expr.value(AttributeValue::S(a));
                    let vb = expr.value(AttributeValue::S(b));
                    format!("{sk_name} BETWEEN {va} AND {vb}")
                }
                (Some(a), None) => format!("{sk_name} >= {}", expr.value(AttributeValue::S(a))),
                (None, Some(b)) => format!("{sk_name} <= {}", expr.value(AttributeValue::S(b))),
                (None, None) => String::new(),
            };
            key_cond.push_str(&format!(" AND {cond}"));
        }
        let filter = expr.live();
        // One more than asked, so that `last_sk` is only set when another item really follows.
        // (And one more on a resumed index page, which reads the item it resumes after again.)
        let wanted = query.limit + 1 + usize::from(resume.is_some());
        let mut items: Vec<Item> = Vec::new();
        let mut start = match query.index {
            None => query.start_after.as_ref().map(|sk| {
                key_attrs(&ItemKey {
                    pk: query.pk.clone(),
                    sk: sk.clone(),
                })
            }),
            Some(_) => None,
        };
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(query.index.map(|i| i.name().to_owned()))
                .key_condition_expression(&key_cond)
                .filter_expression(&filter)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .scan_index_forward(query.forward)
                // Global secondary indexes only offer eventually consistent reads.
                .consistent_read(query.index.is_none())
                .limit(i32::try_from(wanted - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for attrs in out.items.unwrap_or_default() {
                items.push(from_attrs(attrs)?);
            }
            match out.last_evaluated_key {
                Some(lek) if items.len() < wanted => start = Some(lek),
                _ => break,
            }
        }
        let now = now_epoch_seconds();
        items.retain(|i| !is_expired(i, now));
        if let Some(after) = resume {
            // The narrowed condition is inclusive: the item the last page ended on comes again.
            items.retain(|i| i.get(sk_attr).and_then(Value::as_str) != Some(after));
        }
        let mut page = Page::default();
        if items.len() > query.limit {
            items.truncate(query.limit);
            page.last_sk = items
                .last()
                .and_then(|i| i.get(sk_attr))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        page.items = items;
        Ok(page)
    }

    async fn update(
        &self,
        key: &ItemKey,
        update: &Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let mut expr = Expr::default();
        let update_expr = expr.update(update)?;
        let cond = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .update_expression(update_expr)
            .set_condition_expression(cond)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(conditional)?;
        from_attrs(out.attributes.unwrap_or_default())
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(ops.len());
        for op in &ops {
            let mut expr = Expr::default();
            let built = match op {
                TxOp::Put { item, condition } => {
                    let cond = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_attrs(item)?))
                        .set_condition_expression(cond)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(|e| StoreError::Invalid(e.to_string()))?;
                    TransactWriteItem::builder().put(put).build()
                }
                TxOp::Delete { key, condition } => {
                    let cond = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .set_condition_expression(cond)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(|e| StoreError::Invalid(e.to_string()))?;
                    TransactWriteItem::builder().delete(delete).build()
                }
                TxOp::Check { key, condition } => {
                    let cond = expr.condition(condition)?;
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .condition_expression(cond)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(|e| StoreError::Invalid(e.to_string()))?;
                    TransactWriteItem::builder().condition_check(check).build()
                }
                TxOp::Update {
                    key,
                    update,
                    condition,
                } => {
                    let update_expr = expr.update(update)?;
                    let cond = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
                    let update = aws_sdk_dynamodb::types::Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .update_expression(update_expr)
                        .set_condition_expression(cond)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(|e| StoreError::Invalid(e.to_string()))?;
                    TransactWriteItem::builder().update(update).build()
                }
            };
            items.push(built);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancel)) = e.as_service_error() {
                    let codes: Vec<&str> = cancel
                        .cancellation_reasons()
                        .iter()
                        .filter_map(|r| r.code())
                        .collect();
                    if codes.contains(&"ConditionalCheckFailed") {
                        return Err(StoreError::ConditionFailed);
                    }
                    if codes.contains(&"TransactionConflict") {
                        return Err(StoreError::Conflict);
                    }
                    if codes.contains(&"ValidationError") {
                        return Err(StoreError::Invalid(format!("transaction rejected: {codes:?}")));
                    }
                }
                if e.code() == Some("ValidationException") {
                    return Err(StoreError::Invalid(
                        e.message().unwrap_or("validation").to_owned(),
                    ));
                }
                Err(unavailable(e))
            }
        }
    }

    fn kind(&self) -> &'static str {
        "dynamodb"
    }
}
