//! Publishing into a running sandbox from another process, through its HTTP API: the bus of a
//! process that has `EVENTFN_SANDBOX` set (a web server or a script beside `cargo eventfn dev`).
//!
//! Not behind the `sandbox` feature: it needs only hyper's HTTP/1 client, which the Lambda
//! runtime links anyway, so a program that publishes into a local sandbox needs no feature.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use eventfn_core::quote::excerpt;
use eventfn_core::sandbox::{
    ApiError, MAX_MESSAGES, MAX_SMALL_BYTES, OutgoingMessage, PublishRequest, SANDBOX_ENV,
};
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::publish::{Bus, Message};
use crate::{Result, error::message};

/// How long a publish from another process waits for the sandbox.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(30);

/// Publishes into a running sandbox from another process, through its HTTP API: the bus of a
/// process that has `EVENTFN_SANDBOX` set.
pub struct HttpBus {
    /// As given, for messages.
    url: String,
    /// `host:port`.
    authority: String,
}

impl HttpBus {
    /// The bus for `url`, like `http://127.0.0.1:4747`.
    pub fn new(url: &str) -> Result<HttpBus> {
        let authority = url
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/'))
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| {
                message(format!(
                    "{SANDBOX_ENV}=`{url}` is not the address of a sandbox: it reads like \
                     `http://127.0.0.1:4747`, as `cargo eventfn dev` prints"
                ))
            })?;
        Ok(HttpBus {
            url: url.to_owned(),
            authority: authority.to_owned(),
        })
    }

    async fn publish(&self, messages: Vec<Message>) -> Result<()> {
        let Some(first) = messages.first() else {
            return Ok(());
        };
        let to = format!("{} `{}`", first.kind.as_str(), first.name);
        // A sandbox that takes the connection but never answers must not hold the caller forever.
        tokio::time::timeout(PUBLISH_TIMEOUT, self.send_all(&to, messages))
            .await
            .unwrap_or_else(|_| {
                Err(message(format!(
                    "cannot send to {to}: the sandbox at {} ({SANDBOX_ENV}) did not answer within \
                     {} s",
                    self.url,
                    PUBLISH_TIMEOUT.as_secs()
                )))
            })
    }

    /// Sends `messages` ten at a time (as many as the sandbox takes in one request, as SNS and
    /// SQS do in one batch): each request is stored whole or not at all, and an error says how
    /// many were stored before it.
    async fn send_all(&self, to: &str, messages: Vec<Message>) -> Result<()> {
        let total = messages.len();
        let mut sent = 0;
        let mut rest = messages.into_iter().peekable();
        while rest.peek().is_some() {
            let batch: Vec<Message> = rest.by_ref().take(MAX_MESSAGES).collect();
            let count = batch.len();
            self.send_batch(to, batch).await.map_err(|e| {
                if sent == 0 {
                    e
                } else {
                    message(format!(
                        "{e} ({sent} of the {total} messages were sent before it, ten at a time; \
                         sending them all again delivers those twice)"
                    ))
                }
            })?;
            sent += count;
        }
        Ok(())
    }

    async fn send_batch(&self, to: &str, messages: Vec<Message>) -> Result<()> {
        let request = PublishRequest {
            messages: messages
                .into_iter()
                .map(|m| {
                    let (source, detail_type) = m.entry.map(|e| (e.source, e.detail_type)).unzip();
                    OutgoingMessage {
                        kind: m.kind,
                        name: m.name,
                        body: m.body,
                        time: Some(m.time),
                        delay: m.delay,
                        source,
                        detail_type,
                    }
                })
                .collect(),
        };
        let body = serde_json::to_vec(&request)?;
        let unreachable = |e: &dyn std::fmt::Display| {
            message(format!(
                "cannot send to {to}: the sandbox at {} ({SANDBOX_ENV}) did not answer: {e}; is \
                 `cargo eventfn dev` running?",
                self.url
            ))
        };
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))?;
        tokio::spawn(connection);
        let request = Request::post("/v1/publish")
            .header(HOST, &self.authority)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| unreachable(&e))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status();
        // An answer is a little JSON; a peer that is not a sandbox may send anything.
        let answer = Limited::new(response.into_body(), MAX_SMALL_BYTES)
            .collect()
            .await
            .map_err(|e| unreachable(&e))?
            .to_bytes();
        if status.is_success() {
            return Ok(());
        }
        let why = serde_json::from_slice::<ApiError>(&answer)
            .map(|e| e.error)
            .unwrap_or_else(|_| excerpt(&String::from_utf8_lossy(&answer)).into_owned());
        Err(message(format!(
            "cannot send to {to}: the sandbox refused it ({status}): {why}"
        )))
    }
}

impl Bus for HttpBus {
    fn send(
        &self,
        messages: Vec<Message>,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + '_>> {
        Box::pin(self.publish(messages))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_address_is_checked() {
        assert_eq!(
            HttpBus::new("http://127.0.0.1:4747/").unwrap().authority,
            "127.0.0.1:4747"
        );
        for bad in [
            "127.0.0.1:4747",
            "https://127.0.0.1:4747",
            "http://",
            "http://h/x",
        ] {
            let error = HttpBus::new(bad).err().unwrap().to_string();
            assert!(
                error.contains("is not the address of a sandbox"),
                "{bad}: {error}"
            );
        }
    }
}
