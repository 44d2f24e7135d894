//! The SDK side of [`crate::aws`]: the bus that sends through SNS and SQS (feature `aws`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, SdkConfig};
use eventfn_core::Kind;
use tokio::sync::OnceCell;

use crate::Result;
use crate::aws::{
    DELAY_ATTRIBUTE, NAME_ATTRIBUTE, QUEUES_ENV, STACK_ENV, TIME_ATTRIBUTE, TOPICS_ENV,
};
use crate::error::message as error;
use crate::publish::{Bus, Message};

/// Topic ARNs and queue URLs by kind and name.
type Addresses = HashMap<(Kind, String), String>;

#[derive(Default)]
pub(crate) struct AwsBus {
    config: OnceCell<SdkConfig>,
    sns: OnceCell<aws_sdk_sns::Client>,
    sqs: OnceCell<aws_sdk_sqs::Client>,
    ssm: OnceCell<aws_sdk_ssm::Client>,
    /// Addresses found so far, from the environment or SSM.
    addresses: Mutex<Addresses>,
    /// `EVENTFN_TOPICS` and `EVENTFN_QUEUES`, read once.
    environment: std::sync::OnceLock<std::result::Result<Addresses, String>>,
}

impl AwsBus {
    async fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| aws_config::defaults(BehaviorVersion::latest()).load())
            .await
    }

    async fn sns(&self) -> &aws_sdk_sns::Client {
        let config = self.config().await;
        self.sns
            .get_or_init(|| async { aws_sdk_sns::Client::new(config) })
            .await
    }

    async fn sqs(&self) -> &aws_sdk_sqs::Client {
        let config = self.config().await;
        self.sqs
            .get_or_init(|| async { aws_sdk_sqs::Client::new(config) })
            .await
    }

    async fn ssm(&self) -> &aws_sdk_ssm::Client {
        let config = self.config().await;
        self.ssm
            .get_or_init(|| async { aws_sdk_ssm::Client::new(config) })
            .await
    }

    fn environment(&self) -> Result<&Addresses> {
        self.environment
            .get_or_init(|| {
                let mut all = HashMap::new();
                for (kind, var) in [(Kind::Event, TOPICS_ENV), (Kind::Queue, QUEUES_ENV)] {
                    let Ok(text) = std::env::var(var) else {
                        continue;
                    };
                    let map: HashMap<String, String> =
                        serde_json::from_str(&text).map_err(|e| {
                            format!(
                                "{var} is not a JSON object of names to addresses ({e}): {text}"
                            )
                        })?;
                    all.extend(
                        map.into_iter()
                            .map(|(name, address)| ((kind, name), address)),
                    );
                }
                Ok(all)
            })
            .as_ref()
            .map_err(|e| error(e.clone()))
    }

    /// The topic ARN of an event or the queue URL of a queue.
    async fn address(&self, kind: Kind, name: &str) -> Result<String> {
        let key = (kind, name.to_owned());
        if let Some(found) = self.environment()?.get(&key) {
            return Ok(found.clone());
        }
        if let Some(found) = self.addresses.lock().expect("not poisoned").get(&key) {
            return Ok(found.clone());
        }
        let (what, var, folder) = match kind {
            Kind::Queue => ("queue", QUEUES_ENV, "queues"),
            Kind::Event | Kind::Schedule => ("event", TOPICS_ENV, "events"),
        };
        let Ok(stack) = std::env::var(STACK_ENV) else {
            return Err(error(format!(
                "unknown {what} `{name}`: it is not in {var}, and {STACK_ENV} is not set to look \
                 for it in SSM"
            )));
        };
        let parameter = format!("/{stack}/{folder}/{name}");
        let found = self
            .ssm()
            .await
            .get_parameter()
            .name(&parameter)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|e| e.is_parameter_not_found()) {
                    error(format!(
                        "unknown {what} `{name}`: it is not in {var}, nor in SSM parameter `{parameter}`"
                    ))
                } else {
                    error(format!(
                        "cannot read SSM parameter `{parameter}`: {}",
                        aws_sdk_ssm::error::DisplayErrorContext(&e)
                    ))
                }
            })?;
        let value = found
            .parameter
            .and_then(|p| p.value)
            .ok_or_else(|| error(format!("SSM parameter `{parameter}` has no value")))?;
        self.addresses
            .lock()
            .expect("not poisoned")
            .insert(key, value.clone());
        Ok(value)
    }

    async fn publish(&self, messages: Vec<Message>) -> Result<()> {
        let Some(first) = messages.first() else {
            return Ok(());
        };
        let (kind, name) = (first.kind, first.name.clone());
        if first.delay > 0 {
            return Err(error(format!(
                "cannot send to {} `{name}` with a delay of {} ms: this version of eventfn delays \
                 messages in the local sandbox only; on AWS, send it without `.after(...)`",
                kind.as_str(),
                first.delay
            )));
        }
        let address = self.address(kind, &name).await?;
        match kind {
            Kind::Queue => self.send_sqs(&address, &name, messages).await,
            Kind::Event | Kind::Schedule => self.send_sns(&address, &name, messages).await,
        }
    }

    async fn send_sns(&self, topic: &str, name: &str, messages: Vec<Message>) -> Result<()> {
        use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
        let attributes = |m: &Message| -> Result<HashMap<String, MessageAttributeValue>> {
            attribute_values(m)
                .into_iter()
                .map(|(key, data_type, value)| {
                    let value = MessageAttributeValue::builder()
                        .data_type(data_type)
                        .string_value(value)
                        .build()
                        .map_err(|e| {
                            error(format!("cannot build an SNS message attribute: {e}"))
                        })?;
                    Ok((key.to_owned(), value))
                })
                .collect()
        };
        let sns = self.sns().await;
        if let [one] = messages.as_slice() {
            sns.publish()
                .topic_arn(topic)
                .message(&one.body)
                .set_message_attributes(Some(attributes(one)?))
                .send()
                .await
                .map_err(|e| {
                    error(format!(
                        "cannot publish `{name}` to {topic}: {}",
                        aws_sdk_sns::error::DisplayErrorContext(&e)
                    ))
                })?;
            return Ok(());
        }
        for chunk in batches(&messages) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    PublishBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message(&m.body)
                        .set_message_attributes(Some(attributes(m)?))
                        .build()
                        .map_err(|e| error(format!("cannot build an SNS batch entry: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let output = sns
                .publish_batch()
                .topic_arn(topic)
                .set_publish_batch_request_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    error(format!(
                        "cannot publish `{name}` to {topic}: {}",
                        aws_sdk_sns::error::DisplayErrorContext(&e)
                    ))
                })?;
            let failed = output.failed().iter();
            refused(
                failed.map(|f| (f.code(), f.message())),
                chunk.len(),
                &format!("`{name}`"),
            )?;
        }
        Ok(())
    }

    async fn send_sqs(&self, queue: &str, name: &str, messages: Vec<Message>) -> Result<()> {
        use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
        let attributes = |m: &Message| -> Result<HashMap<String, MessageAttributeValue>> {
            attribute_values(m)
                .into_iter()
                .map(|(key, data_type, value)| {
                    let value = MessageAttributeValue::builder()
                        .data_type(data_type)
                        .string_value(value)
                        .build()
                        .map_err(|e| {
                            error(format!("cannot build an SQS message attribute: {e}"))
                        })?;
                    Ok((key.to_owned(), value))
                })
                .collect()
        };
        let sqs = self.sqs().await;
        // A FIFO queue needs a group (one per queue: its order is the publish order) and a
        // deduplication id (each send is its own message).
        let fifo = queue.ends_with(".fifo");
        let group = fifo.then(|| name.to_owned());
        let dedup = |m: &Message| fifo.then(|| deduplication_id(m));
        if let [one] = messages.as_slice() {
            sqs.send_message()
                .queue_url(queue)
                .message_body(&one.body)
                .set_message_group_id(group.clone())
                .set_message_deduplication_id(dedup(one))
                .set_message_attributes(Some(attributes(one)?))
                .send()
                .await
                .map_err(|e| {
                    error(format!(
                        "cannot send to queue `{name}` ({queue}): {}",
                        aws_sdk_sns::error::DisplayErrorContext(&e)
                    ))
                })?;
            return Ok(());
        }
        for chunk in batches(&messages) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(&m.body)
                        .set_message_group_id(group.clone())
                        .set_message_deduplication_id(dedup(m))
                        .set_message_attributes(Some(attributes(m)?))
                        .build()
                        .map_err(|e| error(format!("cannot build an SQS batch entry: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let output = sqs
                .send_message_batch()
                .queue_url(queue)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    error(format!(
                        "cannot send to queue `{name}` ({queue}): {}",
                        aws_sdk_sns::error::DisplayErrorContext(&e)
                    ))
                })?;
            let failed = output.failed().iter();
            refused(
                failed.map(|f| (f.code(), f.message())),
                chunk.len(),
                &format!("queue `{name}`"),
            )?;
        }
        Ok(())
    }
}

impl Bus for AwsBus {
    fn send(
        &self,
        messages: Vec<Message>,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + '_>> {
        Box::pin(self.publish(messages))
    }
}

/// The attributes every message carries, read back on delivery: (key, data type, value).
fn attribute_values(message: &Message) -> [(&'static str, &'static str, String); 3] {
    [
        (NAME_ATTRIBUTE, "String", message.name.clone()),
        (TIME_ATTRIBUTE, "Number", message.time.to_string()),
        (DELAY_ATTRIBUTE, "Number", "0".to_owned()),
    ]
}

/// Fails when a batch request accepted the call but refused some entries: (code, reason) each.
fn refused<'a>(
    failed: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    sent: usize,
    to: &str,
) -> Result<()> {
    let reasons: Vec<String> = failed
        .map(|(code, reason)| format!("{code}: {}", reason.unwrap_or_default()))
        .collect();
    if reasons.is_empty() {
        return Ok(());
    }
    Err(error(format!(
        "{} of {sent} messages to {to} were not sent: {}",
        reasons.len(),
        reasons.join("; ")
    )))
}

/// Batch requests take at most ten messages and 256 KB in all.
fn batches(messages: &[Message]) -> Vec<&[Message]> {
    const MAX_COUNT: usize = 10;
    const MAX_BYTES: usize = 256 * 1024;
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, message) in messages.iter().enumerate() {
        let size = message.size();
        if i > start && (i - start == MAX_COUNT || bytes + size > MAX_BYTES) {
            batches.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < messages.len() {
        batches.push(&messages[start..]);
    }
    batches
}

/// A deduplication id unique to this send: SQS drops a FIFO message whose id it saw in the last
/// five minutes, and two publishes of one payload are two messages.
fn deduplication_id(message: &Message) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        message.time,
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(bytes: usize) -> Message {
        Message::new(Kind::Event, "e", &"x".repeat(bytes)).unwrap()
    }

    #[tokio::test]
    async fn a_delay_is_refused_on_aws_before_anything_is_sent() {
        let mut delayed = message(10);
        delayed.delay = 60_000;
        let error = AwsBus::default()
            .publish(vec![delayed])
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("cannot send to event `e` with a delay of 60000 ms"),
            "{error}"
        );
    }

    #[test]
    fn batches_hold_ten_messages_and_256_kb_at_most() {
        let small: Vec<Message> = (0..23).map(|_| message(10)).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 3]);

        let large: Vec<Message> = (0..5).map(|_| message(100 * 1024)).collect();
        let sizes: Vec<usize> = batches(&large).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert!(batches(&[]).is_empty());
    }
}
