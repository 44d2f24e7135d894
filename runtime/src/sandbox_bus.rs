//! Publishing into a running sandbox from another process, through its HTTP API: the bus of a
//! process that has `EVENTFN_SANDBOX` set (a web server or a script beside `cargo eventfn dev`).
//!
//! Not behind the `sandbox` feature: it needs only hyper's HTTP/1 client, which the Lambda
//! runtime links anyway, so a program that publishes into a local sandbox needs no feature.
//!
//! Connections are kept alive and pooled (`hyper_util`'s client): a process that publishes often
//! opens one connection per publish running at once, not one per publish, which spares the
//! sandbox most of its per-request work.

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
use hyper::header::CONTENT_TYPE;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::publish::{Bus, Message};
use crate::{Result, error::message};

/// How long a publish from another process waits for the sandbox.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(30);

/// Publishes into a running sandbox from another process, through its HTTP API: the bus of a
/// process that has `EVENTFN_SANDBOX` set.
pub struct HttpBus {
    /// As given, for messages.
    url: String,
    /// `http://host:port/v1/publish`.
    endpoint: hyper::Uri,
    /// Kept-alive connections to the sandbox.
    client: Client<HttpConnector, Full<Bytes>>,
}

/// How long an idle connection to the sandbox is kept: less than the sandbox's own idle limit
/// (`header_timeout`, 10 s), so the client closes it first and never sends on a closing one.
const IDLE: Duration = Duration::from_secs(5);

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
        let endpoint = format!("http://{authority}/v1/publish")
            .parse()
            .map_err(|e| message(format!("{SANDBOX_ENV}=`{url}`: {e}")))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE)
            .build(connector);
        Ok(HttpBus {
            url: url.to_owned(),
            endpoint,
            client,
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
        let request = Request::post(self.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| unreachable(&e))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| unreachable(&DisplayChain(&e)))?;
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

/// An error with its causes, `a: b: c`: the client's own says only "client error (Connect)".
struct DisplayChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A server that answers every request `{}` and counts the connections it accepts.
    async fn counting_server() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_request| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"{}"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (url, accepted)
    }

    #[tokio::test]
    async fn publishes_one_after_another_share_one_kept_alive_connection() {
        let (url, accepted) = counting_server().await;
        let bus = HttpBus::new(&url).unwrap();
        for n in 0..20 {
            let message = Message::new(eventfn_core::Kind::Event, "tick", &n).unwrap();
            bus.publish(vec![message]).await.unwrap();
        }
        // 25 messages: three requests of at most ten, on the same connection.
        let many = (0..25)
            .map(|n| Message::new(eventfn_core::Kind::Event, "tick", &n).unwrap())
            .collect();
        bus.publish(many).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_sandbox_that_is_not_there_is_named_with_why() {
        // A port nothing listens on: bound, then let go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bus = HttpBus::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let message = Message::new(eventfn_core::Kind::Event, "tick", &1).unwrap();
        let error = bus.publish(vec![message]).await.unwrap_err().to_string();
        assert!(error.contains("did not answer"), "{error}");
        assert!(error.contains("onnection refused"), "{error}");
        assert!(error.contains("is `cargo eventfn dev` running?"), "{error}");
    }

    #[test]
    fn the_sandbox_address_is_checked() {
        assert_eq!(
            HttpBus::new("http://127.0.0.1:4747/").unwrap().endpoint,
            "http://127.0.0.1:4747/v1/publish"
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
