//! Publishing events and enqueuing jobs.
//!
//! Every message is checked here, before anything is sent: the name must be valid, the payload
//! must serialize to JSON, and the JSON must fit SNS's and SQS's 256 KB message limit.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use eventfn_core::{Kind, validate_name};
use serde::Serialize;

use crate::Result;
use crate::error::message;

/// The largest payload, as JSON, that can be published or enqueued: SNS and SQS take 256 KB per
/// message, counting its attributes, for which eventfn keeps 1 KB.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024 - ATTRIBUTE_ALLOWANCE;

/// Room kept for the message attributes eventfn sets (`eventfn.name`, ...; a name is at most 240
/// characters).
const ATTRIBUTE_ALLOWANCE: usize = 1024;

/// Publishes `payload` to every subscriber of event `name`.
///
/// ```no_run
/// # async fn f() -> eventfn::Result<()> {
/// eventfn::publish("account-signup", &serde_json::json!({ "user_id": "u1" })).await?;
/// # Ok(()) }
/// ```
pub async fn publish<T: Serialize + ?Sized>(name: &str, payload: &T) -> Result<()> {
    send(vec![Message::new(Kind::Event, name, payload)?]).await
}

/// Publishes several payloads to event `name` in as few requests as the bus allows (SNS
/// `PublishBatch`, ten at a time). Every payload is checked before any is sent.
pub async fn publish_many<'a, T, I>(name: &str, payloads: I) -> Result<()>
where
    T: Serialize + ?Sized + 'a,
    I: IntoIterator<Item = &'a T>,
{
    send(messages(Kind::Event, name, payloads)?).await
}

/// Sends `payload` to queue `name`, whose handler receives it in a batch.
pub async fn enqueue<T: Serialize + ?Sized>(name: &str, payload: &T) -> Result<()> {
    send(vec![Message::new(Kind::Queue, name, payload)?]).await
}

/// Sends several payloads to queue `name` (SQS `SendMessageBatch`, ten at a time). Every payload
/// is checked before any is sent.
pub async fn enqueue_many<'a, T, I>(name: &str, payloads: I) -> Result<()>
where
    T: Serialize + ?Sized + 'a,
    I: IntoIterator<Item = &'a T>,
{
    send(messages(Kind::Queue, name, payloads)?).await
}

fn messages<'a, T, I>(kind: Kind, name: &str, payloads: I) -> Result<Vec<Message>>
where
    T: Serialize + ?Sized + 'a,
    I: IntoIterator<Item = &'a T>,
{
    payloads
        .into_iter()
        .map(|payload| Message::new(kind, name, payload))
        .collect()
}

/// A message checked and ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// [`Kind::Event`] for a publish, [`Kind::Queue`] for an enqueue.
    pub kind: Kind,
    pub name: String,
    /// The payload as JSON.
    pub body: String,
    /// When it was published, in milliseconds since the Unix epoch.
    pub time: u64,
}

impl Message {
    /// What it counts against the 256 KB limits: its body and room for its attributes.
    pub fn size(&self) -> usize {
        self.body.len() + ATTRIBUTE_ALLOWANCE
    }

    /// Checks the name, serializes the payload and checks its size.
    pub fn new<T: Serialize + ?Sized>(kind: Kind, name: &str, payload: &T) -> Result<Message> {
        let what = match kind {
            Kind::Queue => "queue",
            Kind::Event | Kind::Schedule => "event",
        };
        validate_name(name).map_err(|e| {
            message(format!(
                "cannot send to {what} `{name}`: invalid {what} name: {e}"
            ))
        })?;
        let body = serde_json::to_string(payload).map_err(|e| {
            message(format!(
                "cannot send to {what} `{name}`: the payload does not serialize to JSON: {e}"
            ))
        })?;
        if body.len() > MAX_PAYLOAD_BYTES {
            return Err(message(format!(
                "cannot send to {what} `{name}`: the payload is {} bytes as JSON; at most {MAX_PAYLOAD_BYTES} \
                 bytes fit in a message (256 KB with its attributes). Store large data elsewhere (S3, a database) and send its key",
                body.len()
            )));
        }
        Ok(Message {
            kind,
            name: name.to_owned(),
            body,
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        })
    }
}

/// Where messages go: SNS and SQS on AWS, the local bus in the sandbox.
pub trait Bus: Send + Sync + 'static {
    /// Sends one or more messages, all of one kind and to one name.
    fn send(&self, messages: Vec<Message>)
    -> Pin<Box<dyn Future<Output = Result<()>> + Send + '_>>;
}

static BUS: OnceLock<Box<dyn Bus>> = OnceLock::new();

/// Connects the process's bus; done once, by the runtime, before handlers run.
pub fn connect(bus: Box<dyn Bus>) -> Result<()> {
    BUS.set(bus)
        .map_err(|_| message("eventfn: an event bus is already connected to this process"))
}

async fn send(outgoing: Vec<Message>) -> Result<()> {
    let Some(first) = outgoing.first() else {
        return Ok(());
    };
    if let Some(bus) = BUS.get() {
        return bus.send(outgoing).await;
    }
    if crate::aws::configured() {
        #[cfg(feature = "aws")]
        {
            let bus = BUS.get_or_init(|| Box::new(crate::aws_sdk::AwsBus::default()));
            return bus.send(outgoing).await;
        }
        #[cfg(not(feature = "aws"))]
        return Err(message(format!(
            "cannot send to `{}`: this app was built without the `aws` feature of eventfn, which \
             publishes through SNS and SQS",
            first.name
        )));
    }
    Err(message(format!(
        "cannot send to `{}`: no event bus is connected to this process: on AWS, set {} or {} \
         (the deployed template does), or {} to find topics and queues in SSM",
        first.name,
        crate::aws::TOPICS_ENV,
        crate::aws::QUEUES_ENV,
        crate::aws::STACK_ENV
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_before_sending() {
        let ok = Message::new(Kind::Event, "account-signup", &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(ok.body, r#"{"a":1}"#);

        let bad_name = Message::new(Kind::Event, "9lives", &1)
            .unwrap_err()
            .to_string();
        assert!(
            bad_name.contains(
                "cannot send to event `9lives`: invalid event name: `9lives` starts with `9`"
            ),
            "{bad_name}"
        );

        let big = "x".repeat(MAX_PAYLOAD_BYTES);
        let too_big = Message::new(Kind::Queue, "jobs", &big)
            .unwrap_err()
            .to_string();
        assert!(
            too_big.contains(&format!("is {} bytes as JSON", MAX_PAYLOAD_BYTES + 2)),
            "{too_big}"
        );
        assert!(Message::new(Kind::Queue, "jobs", &"x".repeat(MAX_PAYLOAD_BYTES - 2)).is_ok());

        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        let unserializable = Message::new(Kind::Event, "e", &map)
            .unwrap_err()
            .to_string();
        assert!(
            unserializable.contains("does not serialize to JSON"),
            "{unserializable}"
        );
    }

    #[tokio::test]
    async fn without_a_bus_says_so() {
        let err = publish("account-signup", &1).await.unwrap_err().to_string();
        assert!(err.contains("no event bus is connected"), "{err}");
    }
}
