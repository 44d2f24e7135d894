//! What Lambda hands a function, read in one pass over the request body.
//!
//! `aws_lambda_events` has a type per shape (`SnsEvent`, `SqsEvent`, `EventBridgeEvent`), but a
//! function of eventfn learns which shape arrived only from the body: an event handler is reached
//! by SNS directly, through SQS, or by a direct invoke. Reading the body into a
//! `serde_json::Value` first, to tell them apart, then converting that into the typed event cost
//! as much as the rest of a 1 KB dispatch (`benches/dispatch.rs`). So the top level and each
//! record are told apart by their keys as they are read, and SNS messages go straight into
//! `aws_lambda_events`' own `SnsMessage`, field by field, because emulators leave out fields that
//! its derived `Deserialize` requires (Architect's sandbox sends only `{"Sns": {"Message": ...}}`).
//! The rarer shapes (SQS records, EventBridge events) are collected as JSON and converted with
//! the derived impls of `aws_lambda_events`.

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::{MessageAttribute, SnsMessage};
use aws_lambda_events::event::sqs::SqsMessage;
use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// One invocation's input, as a function of eventfn receives it from Lambda.
#[derive(Debug)]
pub enum Incoming {
    /// SNS records delivered to Lambda: one message per record.
    Sns(Vec<SnsMessage>),
    /// An SQS batch: each message's body is a payload, or the SNS notification that wraps one.
    Sqs(Vec<SqsMessage>),
    /// An EventBridge rule or Scheduler firing.
    Schedule(Box<EventBridgeEvent>),
    /// Anything else is a direct invoke whose body is the payload.
    Direct(Value),
    /// `Records` that eventfn cannot handle, and why.
    Unreadable(String),
}

/// JSON already read, as the body it came from would be; what the body cannot be read as
/// (a record that is not an object, say) is [`Incoming::Unreadable`].
impl From<Value> for Incoming {
    fn from(value: Value) -> Incoming {
        Incoming::deserialize(value).unwrap_or_else(|e| Incoming::Unreadable(e.to_string()))
    }
}

impl<'de> Deserialize<'de> for Incoming {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Incoming, D::Error> {
        deserializer.deserialize_any(IncomingVisitor)
    }
}

struct IncomingVisitor;

/// A direct invoke's payload that is not an object.
fn direct<E>(value: Value) -> Result<Incoming, E> {
    Ok(Incoming::Direct(value))
}

impl<'de> Visitor<'de> for IncomingVisitor {
    type Value = Incoming;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an SNS, SQS or EventBridge event, or a JSON payload")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Incoming, E> {
        direct(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Incoming, E> {
        direct(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Incoming, E> {
        direct(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Incoming, E> {
        direct(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Incoming, E> {
        direct(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Incoming, E> {
        direct(v.into())
    }

    fn visit_unit<E>(self) -> Result<Incoming, E> {
        direct(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Incoming, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Incoming::Direct)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Incoming, A::Error> {
        let mut records = None;
        let mut rest = Map::new();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Records => records = Some(map.next_value::<Records>()?),
                Key::Other(key) => {
                    rest.insert(key, map.next_value()?);
                }
                // Keys of an SNS record, not expected at the top level: kept as they are.
                Key::SnsRecord(key) => {
                    rest.insert(key.to_owned(), map.next_value()?);
                }
                Key::Sns => {
                    rest.insert("Sns".to_owned(), map.next_value()?);
                }
            }
        }
        Ok(match records {
            Some(Records(Some(records))) if !records.is_empty() => from_records(records),
            Some(_) => Incoming::Unreadable(
                "the event has an empty or malformed `Records` list: nothing to handle".to_owned(),
            ),
            None => from_object(rest),
        })
    }
}

fn from_records(records: Vec<Record>) -> Incoming {
    if records.iter().all(|r| matches!(r, Record::Sns(_))) {
        return Incoming::Sns(
            records
                .into_iter()
                .filter_map(|r| match r {
                    Record::Sns(message) => Some(message),
                    _ => None,
                })
                .collect(),
        );
    }
    let mut messages = Vec::with_capacity(records.len());
    for record in records {
        match record {
            Record::Sns(_) => {
                return Incoming::Unreadable(
                    "the event's `Records` mix SNS records with others".to_owned(),
                );
            }
            Record::BadSns(why) => return Incoming::Unreadable(why),
            Record::Other(fields) => {
                let sqs = fields.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")
                    || fields.contains_key("body");
                if !sqs {
                    return Incoming::Unreadable(
                        "the event's `Records` are neither SNS nor SQS records, the only kinds \
                         eventfn handles"
                            .to_owned(),
                    );
                }
                match serde_json::from_value(Value::Object(fields)) {
                    Ok(message) => messages.push(message),
                    Err(e) => return Incoming::Unreadable(format!("unreadable SQS event: {e}")),
                }
            }
        }
    }
    Incoming::Sqs(messages)
}

fn from_object(object: Map<String, Value>) -> Incoming {
    let source = object.get("source").and_then(Value::as_str);
    if matches!(source, Some("aws.events" | "aws.scheduler")) && object.contains_key("detail-type")
    {
        return match serde_json::from_value(Value::Object(object)) {
            Ok(event) => Incoming::Schedule(Box::new(event)),
            Err(e) => Incoming::Unreadable(format!("unreadable EventBridge event: {e}")),
        };
    }
    Incoming::Direct(Value::Object(object))
}

/// A key of the top level or of a record. The keys eventfn looks for, and those of SNS records,
/// are told apart without allocating: most invocations carry only these.
enum Key {
    Records,
    Sns,
    SnsRecord(&'static str),
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "Records" => Key::Records,
            "Sns" => Key::Sns,
            "EventSource" => Key::SnsRecord("EventSource"),
            "EventVersion" => Key::SnsRecord("EventVersion"),
            "EventSubscriptionArn" => Key::SnsRecord("EventSubscriptionArn"),
            other => Key::Other(other.to_owned()),
        })
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Key, E> {
        match key.as_str() {
            "Records" | "Sns" | "EventSource" | "EventVersion" | "EventSubscriptionArn" => {
                self.visit_str(&key)
            }
            _ => Ok(Key::Other(key)),
        }
    }
}

/// The `Records` list; `None` when it is not a list.
struct Records(Option<Vec<Record>>);

impl<'de> Deserialize<'de> for Records {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Records, D::Error> {
        deserializer.deserialize_any(RecordsVisitor)
    }
}

struct RecordsVisitor;

impl<'de> Visitor<'de> for RecordsVisitor {
    type Value = Records;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Records, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(record) = seq.next_element()? {
            records.push(record);
        }
        Ok(Records(Some(records)))
    }

    // Whatever else `Records` holds is read and refused.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Records, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Records(None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Records, E> {
        Ok(Records(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Records, E> {
        Ok(Records(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Records, E> {
        Ok(Records(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Records, E> {
        Ok(Records(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<Records, E> {
        Ok(Records(None))
    }

    fn visit_unit<E>(self) -> Result<Records, E> {
        Ok(Records(None))
    }
}

/// One element of `Records`.
// Most records are SNS messages: boxing them would cost an allocation each to save the space of
// the rarer kinds.
#[allow(clippy::large_enum_variant)]
enum Record {
    Sns(SnsMessage),
    /// An SNS record that cannot be handled, and why.
    BadSns(String),
    /// Any other record (SQS, or something eventfn does not handle), as JSON.
    Other(Map<String, Value>),
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Record, D::Error> {
        deserializer.deserialize_map(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an SNS or SQS record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let mut sns = None;
        let mut rest = Map::new();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Sns => sns = Some(map.next_value::<LenientSns>()?),
                // Nothing eventfn reads, and no part of an SQS record.
                Key::SnsRecord(_) => {
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Records => {
                    rest.insert("Records".to_owned(), map.next_value()?);
                }
                Key::Other(key) => {
                    rest.insert(key, map.next_value()?);
                }
            }
        }
        Ok(match sns {
            Some(LenientSns(Some(message))) => Record::Sns(message),
            Some(LenientSns(None)) => {
                Record::BadSns("an SNS record without a `Message` string".to_owned())
            }
            None => Record::Other(rest),
        })
    }
}

/// An SNS message from whatever fields it has; `None` without a `Message`. Fields an emulator
/// leaves out or sends as `null` keep their defaults; a missing `Timestamp` is now.
pub(crate) struct LenientSns(pub(crate) Option<SnsMessage>);

/// The fields of an SNS message, with the aliases `aws_lambda_events` accepts.
#[derive(serde::Deserialize)]
enum SnsField {
    Type,
    MessageId,
    TopicArn,
    Subject,
    Timestamp,
    SignatureVersion,
    Signature,
    #[serde(alias = "SigningCertURL")]
    SigningCertUrl,
    #[serde(alias = "UnsubscribeURL")]
    UnsubscribeUrl,
    Message,
    MessageAttributes,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for LenientSns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LenientSns, D::Error> {
        deserializer.deserialize_map(LenientSnsVisitor)
    }
}

struct LenientSnsVisitor;

impl<'de> Visitor<'de> for LenientSnsVisitor {
    type Value = LenientSns;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an SNS message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LenientSns, A::Error> {
        let mut m = SnsMessage::default();
        let mut message = None;
        let mut timestamp = None;
        let text = |map: &mut A| -> Result<String, A::Error> {
            Ok(map.next_value::<Option<String>>()?.unwrap_or_default())
        };
        while let Some(field) = map.next_key::<SnsField>()? {
            match field {
                SnsField::Type => m.sns_message_type = text(&mut map)?,
                SnsField::MessageId => m.message_id = text(&mut map)?,
                SnsField::TopicArn => m.topic_arn = text(&mut map)?,
                SnsField::Subject => m.subject = map.next_value()?,
                SnsField::Timestamp => timestamp = map.next_value()?,
                SnsField::SignatureVersion => m.signature_version = text(&mut map)?,
                SnsField::Signature => m.signature = text(&mut map)?,
                SnsField::SigningCertUrl => m.signing_cert_url = text(&mut map)?,
                SnsField::UnsubscribeUrl => m.unsubscribe_url = text(&mut map)?,
                SnsField::Message => message = map.next_value()?,
                SnsField::MessageAttributes => {
                    m.message_attributes = map
                        .next_value::<Option<HashMap<String, MessageAttribute>>>()?
                        .unwrap_or_default();
                }
                SnsField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let Some(message) = message else {
            return Ok(LenientSns(None));
        };
        m.message = message;
        m.timestamp = timestamp.unwrap_or_else(|| SystemTime::now().into());
        Ok(LenientSns(Some(m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Incoming {
        serde_json::from_str(text).unwrap()
    }

    fn unreadable(text: &str) -> String {
        match read(text) {
            Incoming::Unreadable(why) => why,
            other => panic!("{text} read as {other:?}"),
        }
    }

    #[test]
    fn anything_but_a_known_event_is_a_direct_payload() {
        for text in [
            "7",
            "-1",
            "1.5",
            "true",
            "null",
            r#""text""#,
            r#"[1, {"a": 2}]"#,
            r#"{"n": 1, "nested": {"Records": 3}}"#,
            r#"{"source": "my.app", "detail-type": "x"}"#,
        ] {
            match read(text) {
                Incoming::Direct(value) => {
                    assert_eq!(value, serde_json::from_str::<Value>(text).unwrap())
                }
                other => panic!("{text} read as {other:?}"),
            }
        }
    }

    #[test]
    fn sns_messages_keep_the_fields_they_have() {
        let Incoming::Sns(messages) = read(
            r#"{"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification",
                "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Subject": null,
                "Timestamp": "2026-11-24T10:00:00.000Z", "Message": "{\"a\":1}",
                "SigningCertURL": "https://c", "Unknown": [1, 2],
                "MessageAttributes": {"k": {"Type": "String", "Value": "v"}}}},
                {"Sns": {"Message": "2", "MessageAttributes": null, "TopicArn": null}}]}"#,
        ) else {
            panic!("not SNS");
        };
        assert_eq!(messages.len(), 2);
        let first = &messages[0];
        assert_eq!(
            (first.message_id.as_str(), first.message.as_str()),
            ("m-1", r#"{"a":1}"#)
        );
        assert_eq!(first.signing_cert_url, "https://c");
        assert_eq!(first.timestamp.timestamp_millis(), 1_795_514_400_000);
        assert_eq!(first.message_attributes["k"].value, "v");
        assert_eq!(messages[1].message, "2");
        assert!(messages[1].topic_arn.is_empty());
    }

    #[test]
    fn records_eventfn_cannot_handle_say_why() {
        for text in [
            r#"{"Records": []}"#,
            r#"{"Records": {"a": [1]}}"#,
            r#"{"Records": "x"}"#,
        ] {
            assert!(
                unreadable(text).contains("empty or malformed `Records`"),
                "{text}"
            );
        }
        assert_eq!(
            unreadable(r#"{"Records": [{"Sns": {"Subject": "no message"}}]}"#),
            "an SNS record without a `Message` string"
        );
        assert!(unreadable(r#"{"Records": [{"s3": {}}]}"#).contains("neither SNS nor SQS"));
        assert!(
            unreadable(r#"{"Records": [{"Sns": {"Message": "1"}}, {"body": "2"}]}"#)
                .contains("mix SNS records with others")
        );
        assert!(unreadable(r#"{"Records": [{"body": 5}]}"#).starts_with("unreadable SQS event"));
        assert!(
            unreadable(r#"{"source": "aws.events", "detail-type": 5}"#)
                .starts_with("unreadable EventBridge event")
        );
    }

    #[test]
    fn json_already_read_converts_the_same_way() {
        let value: Value =
            serde_json::json!({"Records": [{"body": "{}", "eventSource": "aws:sqs"}]});
        assert!(matches!(Incoming::from(value), Incoming::Sqs(m) if m.len() == 1));
        let value: Value = serde_json::json!({"Records": [5]});
        assert!(matches!(Incoming::from(value), Incoming::Unreadable(_)));
    }
}
