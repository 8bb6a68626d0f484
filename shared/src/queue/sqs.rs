//! The SQS adapter. Backoff is message visibility (`ChangeMessageVisibility`); a job declared
//! dead is copied to the dead-letter queue with its reason and deleted, and the queue's redrive
//! policy dead-letters jobs whose worker kept crashing.

use super::{
    DeadLetter, MAX_RECEIVES, MAX_SQS_DELAY, MAX_VISIBILITY, Outcome, OutgoingJob, Queue,
    QueueError, ReceivedJob,
};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use std::time::Duration;

/// The SQS queue pair: the work queue and its dead-letter queue.
#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dlq_url: Option<String>,
}

impl SqsQueue {
    /// `dlq_url` is needed only by consumers (which may dead-letter); producers may omit it.
    pub fn new(client: Client, queue_url: impl Into<String>, dlq_url: Option<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            dlq_url,
        }
    }
}

fn unavailable<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> QueueError {
    match &e {
        SdkError::ServiceError(_) => QueueError::Unavailable(format!(
            "sqs {}: {}",
            e.code().unwrap_or("unknown"),
            e.message().unwrap_or("")
        )),
        other => QueueError::Unavailable(format!("sqs: {other:?}")),
    }
}

/// Whole seconds for SQS, rounded up so that a job never comes back before its delay.
fn secs(d: Duration, cap: Duration) -> i32 {
    let d = d.min(cap);
    let whole = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(whole.min(cap.as_secs())).unwrap_or(0)
}

/// Creates a work queue and its dead-letter queue as `template.yaml` declares them, returning
/// `(queue_url, dlq_url)`. For emulators, tests and `switchboard aws init`.
pub async fn create_queues(
    client: &Client,
    name: &str,
    visibility: Duration,
) -> Result<(String, String), QueueError> {
    let dlq_url = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .map_err(unavailable)?
        .queue_url
        .ok_or_else(|| QueueError::Unavailable("no DLQ url".into()))?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(unavailable)?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| QueueError::Unavailable("no DLQ arn".into()))?;
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES})
            .to_string();
    let queue_url = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.as_secs().to_string(),
        )
        .send()
        .await
        .map_err(unavailable)?
        .queue_url
        .ok_or_else(|| QueueError::Unavailable("no queue url".into()))?;
    Ok((queue_url, dlq_url))
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, job: OutgoingJob) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(job.body)
            .delay_seconds(secs(job.delay, MAX_SQS_DELAY))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn send_batch(&self, jobs: Vec<OutgoingJob>) -> Result<(), QueueError> {
        for chunk in jobs.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, job) in chunk.iter().enumerate() {
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(job.body.clone())
                        .delay_seconds(secs(job.delay, MAX_SQS_DELAY))
                        .build()
                        .map_err(|e| QueueError::Invalid(e.to_string()))?,
                );
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(failed) = out.failed.first() {
                return Err(QueueError::Unavailable(format!(
                    "sqs rejected {} of {} messages: {}",
                    out.failed.len(),
                    chunk.len(),
                    failed.code
                )));
            }
        }
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        if !(1..=10).contains(&max) {
            return Err(QueueError::Invalid("max must be 1..=10".into()));
        }
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max as i32)
            .visibility_timeout(secs(visibility, MAX_VISIBILITY).max(1))
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Some(ReceivedJob {
                    id: m.message_id?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                    receipt: m.receipt_handle?,
                })
            })
            .collect())
    }

    async fn settle(&self, job: &ReceivedJob, outcome: &Outcome) -> Result<(), QueueError> {
        match outcome {
            Outcome::Done => {}
            Outcome::RetryAfter(after) => {
                return self
                    .client
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(&job.receipt)
                    .visibility_timeout(secs(*after, MAX_VISIBILITY))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(unavailable);
            }
            Outcome::Dead(reason) => self.dead_letter(job, reason).await?,
        }
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(&job.receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn dead_letter(&self, job: &ReceivedJob, reason: &str) -> Result<(), QueueError> {
        let dlq = self
            .dlq_url
            .as_ref()
            .ok_or_else(|| QueueError::Invalid("DLQ_URL is required to dead-letter jobs".into()))?;
        let attr = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| QueueError::Invalid(e.to_string()))
        };
        self.client
            .send_message()
            .queue_url(dlq)
            .message_body(&job.body)
            .message_attributes("reason", attr(reason)?)
            .message_attributes("source_message_id", attr(&job.id)?)
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn depth(&self) -> Result<u64, QueueError> {
        let attrs = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(unavailable)?
            .attributes
            .unwrap_or_default();
        Ok(attrs.values().filter_map(|v| v.parse::<u64>().ok()).sum())
    }

    async fn oldest_age(&self) -> Result<Option<Duration>, QueueError> {
        // Not an attribute of GetQueueAttributes: CloudWatch's ApproximateAgeOfOldestMessage
        // is the only source, and the stack's alarm watches it there.
        Ok(None)
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let Some(dlq) = &self.dlq_url else {
            return Ok(Vec::new());
        };
        let out = self
            .client
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(1)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let attr = |name: &str| {
                    m.message_attributes
                        .as_ref()
                        .and_then(|a| a.get(name))
                        .and_then(|v| v.string_value.clone())
                };
                DeadLetter {
                    id: attr("source_message_id")
                        .or_else(|| m.message_id.clone())
                        .unwrap_or_default(),
                    reason: attr("reason").unwrap_or_else(|| "redriven by SQS".into()),
                    body: m.body.clone().unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn wait_for_work(&self, _timeout: Duration) {
        // `receive` long-polls already.
    }

    fn kind(&self) -> &'static str {
        "sqs"
    }
}
