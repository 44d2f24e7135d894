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
//!
//! Every body is read here, whatever it holds ([`Incoming::from_slice`] never fails): what cannot
//! be read is [`Incoming::Unreadable`], saying what was wrong and where (`Records[0].Sns.Message`,
//! or a line and column), and an SQS record that cannot be read fails alone
//! ([`BadRecord`]). Only a body that fails is read a second time, tracking where it failed.

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::{MessageAttribute, SnsMessage};
use aws_lambda_events::event::sqs::SqsMessage;
use eventfn_core::quote::excerpt;
use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::json_error;

/// One invocation's input, as a function of eventfn receives it from Lambda.
#[derive(Debug)]
pub enum Incoming {
    /// SNS records delivered to Lambda: one message per record.
    Sns(Vec<SnsMessage>),
    /// An SQS batch: each message's body is a payload, or the SNS notification that wraps one.
    /// A record that cannot be read is a [`BadRecord`], to fail alone.
    Sqs(Vec<Result<SqsMessage, BadRecord>>),
    /// An EventBridge rule or Scheduler firing.
    Schedule(Box<EventBridgeEvent>),
    /// Anything else is a direct invoke whose body is the payload.
    Direct(Value),
    /// A body eventfn cannot handle, and why: what was wrong, and where.
    Unreadable(String),
}

/// A record of an SQS batch that cannot be read: its `messageId`, so that Lambda returns it
/// alone to its queue (as a `batchItemFailure`), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// The record's `messageId`.
    pub message_id: String,
    /// What is wrong with it, and where.
    pub why: String,
}

/// The UTF-8 byte order mark, which RFC 8259 lets a reader of JSON ignore: eventfn does.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Incoming {
    /// An invocation's body, as Lambda hands it to the runtime. It never fails: a body that is
    /// empty, not UTF-8, not JSON, or JSON of a shape eventfn cannot handle is
    /// [`Incoming::Unreadable`], naming what was wrong and where (values it quotes are cut, see
    /// [`eventfn_core::quote`]). A leading byte order mark is ignored.
    pub fn from_slice(body: &[u8]) -> Incoming {
        let json = body.strip_prefix(BOM).unwrap_or(body);
        match serde_json::from_slice(json) {
            Ok(incoming) => incoming,
            Err(error) => Incoming::Unreadable(unreadable(json, error)),
        }
    }
}

/// JSON already read, as the body it came from would be read (see [`Incoming::from_slice`]).
impl From<Value> for Incoming {
    fn from(value: Value) -> Incoming {
        Incoming::from_slice(value.to_string().as_bytes())
    }
}

/// Why `json` (a body without its byte order mark) could not be read, first found as `error`:
/// read again, tracking where.
fn unreadable(json: &[u8], error: serde_json::Error) -> String {
    if json.iter().all(u8::is_ascii_whitespace) {
        return "the body is empty: eventfn takes JSON, an SNS, SQS or EventBridge event or a \
                direct invoke's payload"
            .to_owned();
    }
    let mut again = serde_json::Deserializer::from_slice(json);
    let (path, error) = match serde_path_to_error::deserialize::<_, Incoming>(&mut again) {
        Err(tracked) => (known_part(tracked.path()), tracked.into_inner()),
        // Only what follows the JSON is wrong (`trailing characters`): `error` says where.
        Ok(_) => (".".to_owned(), error),
    };
    let within = if path == "." {
        String::new()
    } else {
        format!(", within `{}`", excerpt(&path))
    };
    if let Err(utf8) = std::str::from_utf8(json) {
        let at = utf8.valid_up_to();
        let (line, column) = position(json, at);
        // Unless serde met something else wrong before it.
        if (line, column) <= (error.line(), error.column()) {
            return format!(
                "the body is not UTF-8: byte {:#04x} at line {line} column {column}{within}",
                json[at]
            );
        }
    }
    match error.classify() {
        serde_json::error::Category::Eof => format!(
            "the body ends before its JSON does (was it cut short?): {}{within}",
            json_error(&error)
        ),
        serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
            format!("the body is not JSON: {}{within}", json_error(&error))
        }
        serde_json::error::Category::Data if path == "." => {
            format!("the event cannot be read: {}", json_error(&error))
        }
        serde_json::error::Category::Data => format!(
            "the event cannot be read at `{}`: {}",
            excerpt(&path),
            json_error(&error)
        ),
    }
}

/// `path` up to its first part that serde could not name (`?`: a key that is not a string, say);
/// `.` when that is the first.
fn known_part(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    let known = text.split(".?").next().unwrap_or_default();
    if known.is_empty() || known == "?" {
        ".".to_owned()
    } else {
        known.to_owned()
    }
}

/// The line and column (both from 1, the column in bytes, as serde_json counts) of byte `at`.
fn position(text: &[u8], at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    (line, at - line_start + 1)
}

/// What a JSON value is, for an error that says what it should have been.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
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
            Some(Records(Ok(records))) if !records.is_empty() => from_records(records),
            Some(Records(Ok(_))) => Incoming::Unreadable(
                "the event's `Records` list is empty: there is nothing to handle".to_owned(),
            ),
            Some(Records(Err(kind))) => Incoming::Unreadable(format!(
                "the event's `Records` is {kind}, not a list of records"
            )),
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
    let first_sns = records.iter().position(|r| matches!(r, Record::Sns(_)));
    let first_other = records.iter().position(|r| matches!(r, Record::Other(_)));
    let mix = |sns: usize, other: usize| {
        Incoming::Unreadable(format!(
            "`Records[{sns}]` is an SNS record and `Records[{other}]` is not: the event's \
             `Records` mix SNS records with others"
        ))
    };
    let mut messages = Vec::with_capacity(records.len());
    for (i, record) in records.into_iter().enumerate() {
        match record {
            Record::BadSns => {
                return Incoming::Unreadable(format!(
                    "`Records[{i}].Sns` is an SNS record without a `Message`: there is no payload \
                     to handle"
                ));
            }
            Record::Sns(_) => match first_other {
                Some(other) => return mix(i, other),
                // Only SNS records, one without a `Message`: named when it is reached.
                None => continue,
            },
            Record::Other(fields) => {
                let sqs = fields.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")
                    || fields.contains_key("body");
                if !sqs {
                    return Incoming::Unreadable(format!(
                        "`Records[{i}]` is neither an SNS nor an SQS record, the only kinds of \
                         record eventfn handles"
                    ));
                }
                if let Some(sns) = first_sns {
                    return mix(sns, i);
                }
                match sqs_record(i, fields) {
                    Ok(record) => messages.push(record),
                    Err(why) => return Incoming::Unreadable(why),
                }
            }
        }
    }
    Incoming::Sqs(messages)
}

/// Record `i` of an SQS batch: the message, or why it cannot be read; `Err` when it has no id to
/// fail it by, so that the batch fails as a whole.
fn sqs_record(
    i: usize,
    mut fields: Map<String, Value>,
) -> Result<Result<SqsMessage, BadRecord>, String> {
    let id = match fields.get("messageId") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            return Err(format!(
                "`Records[{i}]` is an SQS record without a `messageId`: Lambda cannot be told \
                 which record failed, so the batch fails as a whole"
            ));
        }
    };
    let bad = |why: String| {
        Ok(Err(BadRecord {
            message_id: id.clone(),
            why,
        }))
    };
    let body = match fields.remove("body") {
        None | Some(Value::Null) => None,
        Some(Value::String(body)) => Some(body),
        Some(other) => {
            return bad(format!(
                "SQS message {} (`Records[{i}]`) cannot be read: its `body` is {}, not a string",
                excerpt(&id),
                kind_of(&other)
            ));
        }
    };
    let fields = Value::Object(fields);
    match serde_path_to_error::deserialize::<_, SqsMessage>(&fields) {
        Ok(mut message) => {
            message.body = body;
            Ok(Ok(message))
        }
        Err(e) => bad(format!(
            "SQS message {} (`Records[{i}]`) cannot be read: `{}`: {}",
            excerpt(&id),
            excerpt(&e.path().to_string()),
            json_error(e.inner())
        )),
    }
}

fn from_object(object: Map<String, Value>) -> Incoming {
    let source = object.get("source").and_then(Value::as_str);
    if matches!(source, Some("aws.events" | "aws.scheduler")) && object.contains_key("detail-type")
    {
        let event = Value::Object(object);
        return match serde_path_to_error::deserialize::<_, EventBridgeEvent>(&event) {
            Ok(event) => Incoming::Schedule(Box::new(event)),
            Err(e) => Incoming::Unreadable(format!(
                "the EventBridge event cannot be read at `{}`: {}",
                excerpt(&e.path().to_string()),
                json_error(e.inner())
            )),
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

/// The `Records` list; `Err` with what it is instead when it is not a list.
struct Records(Result<Vec<Record>, &'static str>);

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
        Ok(Records(Ok(records)))
    }

    // Whatever else `Records` holds is read and refused.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Records, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Records(Err("an object")))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Records, E> {
        Ok(Records(Err("a boolean")))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Records, E> {
        Ok(Records(Err("a number")))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Records, E> {
        Ok(Records(Err("a number")))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Records, E> {
        Ok(Records(Err("a number")))
    }

    fn visit_str<E>(self, _: &str) -> Result<Records, E> {
        Ok(Records(Err("a string")))
    }

    fn visit_unit<E>(self) -> Result<Records, E> {
        Ok(Records(Err("null")))
    }
}

/// One element of `Records`.
// Most records are SNS messages: boxing them would cost an allocation each to save the space of
// the rarer kinds.
#[allow(clippy::large_enum_variant)]
enum Record {
    Sns(SnsMessage),
    /// An SNS record without a `Message`.
    BadSns,
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
        f.write_str("an SNS or SQS record (an object)")
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
            Some(LenientSns(None)) => Record::BadSns,
            None => Record::Other(rest),
        })
    }
}

/// An SNS message from whatever fields it has; `None` without a `Message`. Fields an emulator
/// leaves out or sends as `null` keep their defaults; a missing `Timestamp` is now, and so is one
/// that is not a time (which is logged).
pub(crate) struct LenientSns(pub(crate) Option<SnsMessage>);

/// The fields of an SNS message, with the aliases `aws_lambda_events` accepts. An identifier
/// rather than an enum to serde, so that an error's path names the field.
#[derive(serde::Deserialize)]
#[serde(field_identifier)]
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
        let mut timestamp = Loose::Absent;
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
        m.timestamp = match timestamp {
            Loose::Read(time) => time,
            Loose::Absent => SystemTime::now().into(),
            Loose::Unreadable(what) => {
                // The time matters to a handler, not to the delivery: the message is kept.
                tracing::warn!(
                    message_id = %excerpt(&m.message_id),
                    "the `Timestamp` of SNS message {} is {what}, not a time (RFC 3339): its \
                     time is taken as the time it was received",
                    excerpt(&m.message_id),
                );
                SystemTime::now().into()
            }
        };
        Ok(LenientSns(Some(m)))
    }
}

/// A field that is read when it can be, and otherwise said what it was: an SNS `Timestamp` that
/// is not a time does not cost its message.
enum Loose<T> {
    /// Missing or `null`.
    Absent,
    Read(T),
    /// What it was instead (a value quoted, cut as [`excerpt`] cuts it).
    Unreadable(String),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Loose<T>, D::Error> {
        deserializer.deserialize_any(LooseVisitor(std::marker::PhantomData))
    }
}

struct LooseVisitor<T>(std::marker::PhantomData<T>);

impl<T> LooseVisitor<T> {
    fn unreadable<E>(what: &str) -> Result<Loose<T>, E> {
        Ok(Loose::Unreadable(what.to_owned()))
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for LooseVisitor<T> {
    type Value = Loose<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_str<E>(self, v: &str) -> Result<Loose<T>, E> {
        let read = T::deserialize(de::value::StrDeserializer::<de::value::Error>::new(v));
        Ok(match read {
            Ok(value) => Loose::Read(value),
            Err(_) => Loose::Unreadable(format!("`{}`", excerpt(v))),
        })
    }

    fn visit_unit<E>(self) -> Result<Loose<T>, E> {
        Ok(Loose::Absent)
    }

    fn visit_none<E>(self) -> Result<Loose<T>, E> {
        Ok(Loose::Absent)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Loose<T>, E> {
        Self::unreadable("a boolean")
    }

    fn visit_i64<E>(self, _: i64) -> Result<Loose<T>, E> {
        Self::unreadable("a number")
    }

    fn visit_u64<E>(self, _: u64) -> Result<Loose<T>, E> {
        Self::unreadable("a number")
    }

    fn visit_f64<E>(self, _: f64) -> Result<Loose<T>, E> {
        Self::unreadable("a number")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::unreadable("a list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Self::unreadable("an object")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Incoming {
        Incoming::from_slice(text.as_bytes())
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
        assert_eq!(
            unreadable(r#"{"Records": []}"#),
            "the event's `Records` list is empty: there is nothing to handle"
        );
        for (text, kind) in [
            (r#"{"Records": {"a": [1]}}"#, "an object"),
            (r#"{"Records": "x"}"#, "a string"),
            (r#"{"Records": null}"#, "null"),
            (r#"{"Records": 5}"#, "a number"),
        ] {
            assert_eq!(
                unreadable(text),
                format!("the event's `Records` is {kind}, not a list of records")
            );
        }
        assert_eq!(
            unreadable(r#"{"Records": [{"Sns": {"Subject": "no message"}}]}"#),
            "`Records[0].Sns` is an SNS record without a `Message`: there is no payload to handle"
        );
        assert_eq!(
            unreadable(r#"{"Records": [{"Sns": {"Message": "1"}}, {"Sns": {}}]}"#),
            "`Records[1].Sns` is an SNS record without a `Message`: there is no payload to handle"
        );
        assert_eq!(
            unreadable(r#"{"Records": [{"body": "1", "messageId": "m"}, {"s3": {}}]}"#),
            "`Records[1]` is neither an SNS nor an SQS record, the only kinds of record eventfn \
             handles"
        );
        for text in [
            r#"{"Records": [{"Sns": {"Message": "1"}}, {"body": "2"}]}"#,
            r#"{"Records": [{"body": "2"}, {"Sns": {"Message": "1"}}]}"#,
        ] {
            assert!(
                unreadable(text).contains("mix SNS records with others"),
                "{text}"
            );
        }
        assert!(
            unreadable(r#"{"Records": [{"body": "2"}, {"Sns": {"Message": "1"}}]}"#)
                .starts_with("`Records[1]` is an SNS record and `Records[0]` is not")
        );
        assert_eq!(
            unreadable(r#"{"source": "aws.events", "detail-type": 5}"#),
            "the EventBridge event cannot be read at `detail-type`: invalid type: integer `5`, \
             expected a string"
        );
    }

    fn sqs(text: &str) -> Vec<Result<SqsMessage, BadRecord>> {
        match read(text) {
            Incoming::Sqs(records) => records,
            other => panic!("{text} read as {other:?}"),
        }
    }

    #[test]
    fn an_sqs_record_that_cannot_be_read_fails_alone() {
        let records = sqs(r#"{"Records": [
            {"messageId": "m-1", "eventSource": "aws:sqs", "body": 5},
            {"messageId": "m-2", "eventSource": "aws:sqs", "body": "{}"},
            {"messageId": "m-3", "eventSource": "aws:sqs"},
            {"messageId": "m-4", "body": {"n": 1}},
            {"messageId": "m-5", "body": "x", "attributes": {"SentTimestamp": 5}},
            {"messageId": "m-6", "body": null}
        ]}"#);
        assert_eq!(
            records[0],
            Err(BadRecord {
                message_id: "m-1".into(),
                why: "SQS message m-1 (`Records[0]`) cannot be read: its `body` is a number, not \
                      a string"
                    .into()
            })
        );
        assert_eq!(records[1].as_ref().unwrap().body.as_deref(), Some("{}"));
        // No body: the dispatcher fails it (`has no body`).
        assert_eq!(records[2].as_ref().unwrap().body, None);
        assert!(
            records[3]
                .as_ref()
                .unwrap_err()
                .why
                .ends_with("its `body` is an object, not a string")
        );
        let bad = records[4].as_ref().unwrap_err();
        assert_eq!(bad.message_id, "m-5");
        assert_eq!(
            bad.why,
            "SQS message m-5 (`Records[4]`) cannot be read: `attributes.SentTimestamp`: invalid \
             type: integer `5`, expected a string"
        );
        assert_eq!(records[5].as_ref().unwrap().body, None);
    }

    #[test]
    fn an_sqs_record_without_an_id_fails_the_batch() {
        for text in [
            r#"{"Records": [{"messageId": "m-1", "body": "1"}, {"body": 5}]}"#,
            r#"{"Records": [{"messageId": "", "body": "1"}]}"#,
            r#"{"Records": [{"messageId": 7, "body": "1"}]}"#,
        ] {
            let why = unreadable(text);
            assert!(
                why.ends_with(
                    "is an SQS record without a `messageId`: Lambda cannot be told which record \
                     failed, so the batch fails as a whole"
                ),
                "{why}"
            );
        }
    }

    #[test]
    fn a_body_that_is_not_json_says_what_and_where() {
        let bytes = |body: &[u8]| match Incoming::from_slice(body) {
            Incoming::Unreadable(why) => why,
            other => panic!("{body:?} read as {other:?}"),
        };
        let empty = "the body is empty: eventfn takes JSON, an SNS, SQS or EventBridge event or a \
                     direct invoke's payload";
        assert_eq!(bytes(b""), empty);
        assert_eq!(bytes(b" \n\t"), empty);
        assert_eq!(bytes(b"\xEF\xBB\xBF"), empty);
        assert_eq!(
            bytes(br#"{"Records": [{"Sns": {"Message": "ab"#),
            "the body ends before its JSON does (was it cut short?): EOF while parsing a string \
             at line 1 column 36, within `Records[0].Sns.Message`"
        );
        assert_eq!(
            bytes(br#"{"Records": [{"Sns": "#),
            "the body ends before its JSON does (was it cut short?): EOF while parsing a value at \
             line 1 column 21, within `Records[0].Sns`"
        );
        assert_eq!(
            bytes(b"this is not json"),
            "the body is not JSON: expected ident at line 1 column 2"
        );
        assert_eq!(
            bytes(br#"{"a": 1} {"b": 2}"#),
            "the body is not JSON: trailing characters at line 1 column 10"
        );
        assert_eq!(
            bytes(b"{\"Records\": [{\"Sns\": {\"Message\": \"a\xFFb\"}}]}"),
            "the body is not UTF-8: byte 0xff at line 1 column 36, within `Records[0].Sns.Message`"
        );
        assert_eq!(
            bytes(b"\xFF\xFE{}"),
            "the body is not UTF-8: byte 0xff at line 1 column 1"
        );
        assert_eq!(
            bytes(b"{\n  \"a\":\n \xC3\x28}"),
            "the body is not UTF-8: byte 0xc3 at line 3 column 2, within `a`"
        );
        // Something wrong before the bad byte is named first.
        assert_eq!(
            bytes(b"{,\xFF}"),
            "the body is not JSON: key must be a string at line 1 column 2"
        );
    }

    #[test]
    fn json_of_the_wrong_shape_names_the_field() {
        assert_eq!(
            unreadable(r#"{"Records": [5]}"#),
            "the event cannot be read at `Records[0]`: invalid type: integer `5`, expected an SNS \
             or SQS record (an object) at line 1 column 14"
        );
        assert_eq!(
            unreadable(r#"{"Records": [{"Sns": {"Message": {"user": 1}}}]}"#),
            "the event cannot be read at `Records[0].Sns.Message`: invalid type: map, expected a \
             string at line 1 column 33"
        );
        assert_eq!(
            unreadable(r#"{"Records": [{"Sns": {"Message": "1", "MessageAttributes": 7}}]}"#),
            "the event cannot be read at `Records[0].Sns.MessageAttributes`: invalid type: \
             integer `7`, expected a map at line 1 column 60"
        );
        // A value quoted in the error is cut.
        let huge = "s".repeat(1_000_000);
        let why = unreadable(&format!(
            r#"{{"Records": [{{"Sns": {{"Message": "1", "MessageAttributes": {{"k": "{huge}"}}}}}}]}}"#
        ));
        assert!(why.len() < 600, "{}", why.len());
        assert!(
            why.starts_with("the event cannot be read at `Records[0].Sns.MessageAttributes.k`: "),
            "{why}"
        );
        assert!(why.contains("… (1000000 characters in all)"), "{why}");
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let body = b"\xEF\xBB\xBF{\"Records\": [{\"Sns\": {\"Message\": \"1\"}}]}";
        assert!(matches!(Incoming::from_slice(body), Incoming::Sns(m) if m[0].message == "1"));
    }

    #[test]
    fn an_sns_timestamp_that_is_not_a_time_is_the_time_received() {
        for timestamp in [r#""yesterday""#, "5", "true", "[1]", r#"{"a": 1}"#, r#""""#] {
            let before = SystemTime::now();
            let text = format!(
                r#"{{"Records": [{{"Sns": {{"MessageId": "m", "Timestamp": {timestamp}, "Message": "1"}}}}]}}"#
            );
            let Incoming::Sns(messages) = read(&text) else {
                panic!("{text} was not read as SNS");
            };
            let time: SystemTime = messages[0].timestamp.into();
            assert!(time >= before, "{timestamp}");
            assert_eq!(messages[0].message, "1");
        }
    }

    #[test]
    fn json_already_read_converts_the_same_way() {
        let value: Value = serde_json::json!({"Records": [{"body": "{}", "eventSource": "aws:sqs", "messageId": "m"}]});
        assert!(matches!(Incoming::from(value), Incoming::Sqs(m) if m.len() == 1));
        let value: Value = serde_json::json!({"Records": [5]});
        assert!(matches!(Incoming::from(value), Incoming::Unreadable(_)));
    }
}
