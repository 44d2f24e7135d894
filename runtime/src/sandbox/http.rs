//! The sandbox's HTTP API on 127.0.0.1 (see [`eventfn_core::sandbox`] for its requests), and the
//! bus through which another local process publishes into a running sandbox.
//!
//! The routes are few and fixed, so they are matched by hand over `hyper`'s server rather than
//! through a web framework; queries are two plain words or numbers, read without a URL crate.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use eventfn_core::sandbox::{
    ApiError, AppInfo, Deliveries, DeliveryView, HandlerInfo, OutgoingMessage, PublishRequest,
    Published, ReplayRequest, SANDBOX_ENV, TriggerRequest,
};
use eventfn_core::{Kind, validate_name};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::{TcpListener, TcpStream};

use super::engine::{Engine, Refusal, now_ms};
use super::store::{self, Filter};
use crate::publish::{Bus, MAX_PAYLOAD_BYTES, Message};
use crate::{Result, error::message};

/// The largest request body taken: a publish of many messages, each at most 256 KB.
const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// How long a publish from another process waits for the sandbox's answer.
const PUBLISH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How far a publisher's clock may be from the sandbox's.
const MAX_CLOCK_SKEW_MS: u64 = 60_000;

/// The most deliveries one listing returns.
const MAX_LIMIT: usize = 10_000;

/// Serves the API on `listener` until the process ends.
pub async fn serve(engine: Arc<Engine>, listener: TcpListener, info: AppInfo) {
    let info = Arc::new(info);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, say: the next accept may succeed.
                tracing::warn!("the sandbox could not accept a connection: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (engine, info) = (engine.clone(), info.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (engine, info) = (engine.clone(), info.clone());
                async move { Ok::<_, Infallible>(answer(&engine, &info, request).await) }
            });
            // A client that goes away mid-request is no concern of the sandbox.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(value).unwrap_or_else(|e| {
        serde_json::to_vec(&ApiError {
            error: e.to_string(),
        })
        .unwrap_or_default()
    });
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

fn refused(status: StatusCode, error: impl Into<String>) -> Response<Full<Bytes>> {
    json(
        status,
        &ApiError {
            error: error.into(),
        },
    )
}

fn refusal(refusal: Refusal) -> Response<Full<Bytes>> {
    match refusal {
        Refusal::Invalid(why) => refused(StatusCode::BAD_REQUEST, why),
        Refusal::Store(why) => refused(StatusCode::INTERNAL_SERVER_ERROR, why),
    }
}

async fn answer(
    engine: &Engine,
    info: &AppInfo,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("cannot read the request: {error} (at most {MAX_REQUEST_BYTES} bytes)"),
            );
        }
    };
    let path = parts.uri.path();
    match (&parts.method, path) {
        (&Method::GET, "/v1/app") => json(StatusCode::OK, info),
        (&Method::POST, "/v1/publish") => {
            let request: PublishRequest = match read(&body) {
                Ok(request) => request,
                Err(why) => return refused(StatusCode::BAD_REQUEST, why),
            };
            let messages: std::result::Result<Vec<Message>, String> =
                request.messages.into_iter().map(check).collect();
            let messages = match messages {
                Ok(messages) => messages,
                Err(why) => return refused(StatusCode::BAD_REQUEST, why),
            };
            match engine.accept(messages).await {
                Ok(events) => json(StatusCode::OK, &Published { events }),
                Err(e) => refusal(e),
            }
        }
        (&Method::POST, "/v1/trigger") => {
            let request: TriggerRequest = match read(&body) {
                Ok(request) => request,
                Err(why) => return refused(StatusCode::BAD_REQUEST, why),
            };
            match engine.trigger(&request.name).await {
                Ok(event) => json(
                    StatusCode::OK,
                    &Published {
                        events: vec![event],
                    },
                ),
                Err(e) => refusal(e),
            }
        }
        (&Method::GET, "/v1/deliveries") => {
            let (filter, limit) = match listing(parts.uri.query().unwrap_or("")) {
                Ok(query) => query,
                Err(why) => return refused(StatusCode::BAD_REQUEST, why),
            };
            match engine.list(filter, limit).await {
                Ok(deliveries) => json(
                    StatusCode::OK,
                    &Deliveries {
                        deliveries: deliveries.into_iter().map(view).collect(),
                    },
                ),
                Err(e) => refusal(e),
            }
        }
        (&Method::POST, "/v1/replay") => {
            let request: ReplayRequest = match read(&body) {
                Ok(request) => request,
                Err(why) => return refused(StatusCode::BAD_REQUEST, why),
            };
            match engine.replay(request.id).await {
                Ok(delivery) => json(StatusCode::OK, &view(delivery)),
                Err(e) => refusal(e),
            }
        }
        (method, _) => refused(
            StatusCode::NOT_FOUND,
            format!(
                "the sandbox has no `{method} {path}`; its API is GET /v1/app, POST /v1/publish, \
                 POST /v1/trigger, GET /v1/deliveries and POST /v1/replay"
            ),
        ),
    }
}

fn read<T: serde::de::DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    serde_json::from_slice(body)
        .map_err(|e| format!("the request body is not what this endpoint takes: {e}"))
}

/// A message from another process, checked as `eventfn::publish` checks its own.
fn check(outgoing: OutgoingMessage) -> std::result::Result<Message, String> {
    let OutgoingMessage {
        kind,
        name,
        body,
        time,
        delay,
    } = outgoing;
    let what = kind.as_str();
    if kind == Kind::Schedule {
        return Err(format!(
            "cannot publish to schedule `{name}`: schedules are fired with `cargo eventfn trigger {name}`"
        ));
    }
    validate_name(&name)
        .map_err(|e| format!("cannot send to {what} `{name}`: invalid {what} name: {e}"))?;
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(format!(
            "cannot send to {what} `{name}`: the payload is {} bytes as JSON; at most \
             {MAX_PAYLOAD_BYTES} bytes fit in a message (256 KB with its attributes)",
            body.len()
        ));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(&body)
        .map_err(|e| format!("cannot send to {what} `{name}`: the payload is not JSON: {e}"))?;
    // The publisher's clock says when it published; delays count from the sandbox's, so a time
    // far from it would shorten or stretch them.
    let now = now_ms();
    let time = time.unwrap_or(now);
    if time.abs_diff(now) > MAX_CLOCK_SKEW_MS {
        return Err(format!(
            "cannot send to {what} `{name}`: its time {time} (ms since the epoch) is more than a \
             minute from the sandbox's clock ({now})"
        ));
    }
    Ok(Message {
        kind,
        name,
        body,
        time,
        delay,
    })
}

/// `filter=all|failed|dead&limit=N`, both optional.
fn listing(query: &str) -> std::result::Result<(Filter, usize), String> {
    let (mut filter, mut limit) = (Filter::All, 50);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("filter", "all")) => filter = Filter::All,
            Some(("filter", "failed")) => filter = Filter::Failed,
            Some(("filter", "dead")) => filter = Filter::Dead,
            Some(("limit", n)) => {
                limit = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| format!("limit `{n}` is not a number from 1 to {MAX_LIMIT}"))?;
            }
            _ => {
                return Err(format!(
                    "`{pair}` is not a query of /v1/deliveries: it takes filter=all|failed|dead and limit=N"
                ));
            }
        }
    }
    Ok((filter, limit))
}

fn view(delivery: store::Delivery) -> DeliveryView {
    DeliveryView {
        id: delivery.id,
        event: delivery.event,
        kind: delivery.kind,
        name: delivery.name,
        handler: delivery.handler,
        state: delivery.state.as_str().to_owned(),
        attempts: delivery.attempts,
        time: delivery.time,
        delay: delivery.delay,
        due: delivery.due,
        duration: delivery.duration,
        error: delivery.error,
    }
}

/// What `GET /v1/app` answers.
pub fn app_info(engine: &Engine, store: &std::path::Path) -> AppInfo {
    AppInfo {
        store: store.display().to_string(),
        handlers: engine
            .entries()
            .map(|e| HandlerInfo {
                kind: e.registration.kind,
                name: e.registration.name.clone(),
                function: e.registration.function.clone(),
            })
            .collect(),
    }
}

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

    async fn send_all(&self, to: &str, messages: Vec<Message>) -> Result<()> {
        let request = PublishRequest {
            messages: messages
                .into_iter()
                .map(|m| OutgoingMessage {
                    kind: m.kind,
                    name: m.name,
                    body: m.body,
                    time: Some(m.time),
                    delay: m.delay,
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
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| unreachable(&e))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status();
        let answer = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(&e))?
            .to_bytes();
        if status.is_success() {
            return Ok(());
        }
        let why = serde_json::from_slice::<ApiError>(&answer)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&answer).into_owned());
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

    fn outgoing(kind: Kind, name: &str, body: &str) -> OutgoingMessage {
        OutgoingMessage {
            kind,
            name: name.to_owned(),
            body: body.to_owned(),
            time: None,
            delay: 0,
        }
    }

    #[test]
    fn messages_from_other_processes_are_checked() {
        assert!(check(outgoing(Kind::Event, "account-signup", r#"{"a":1}"#)).is_ok());
        let not_json = check(outgoing(Kind::Event, "account-signup", "{a:1}")).unwrap_err();
        assert!(
            not_json.starts_with("cannot send to event `account-signup`: the payload is not JSON"),
            "{not_json}"
        );
        let bad_name = check(outgoing(Kind::Queue, "9lives", "1")).unwrap_err();
        assert!(bad_name.contains("invalid queue name"), "{bad_name}");
        let big = format!("\"{}\"", "x".repeat(MAX_PAYLOAD_BYTES));
        let too_big = check(outgoing(Kind::Event, "e", &big)).unwrap_err();
        assert!(too_big.contains("at most"), "{too_big}");
        let mut skewed = outgoing(Kind::Event, "e", "1");
        skewed.time = Some(u64::MAX);
        let skewed = check(skewed).unwrap_err();
        assert!(
            skewed.contains("more than a minute from the sandbox's clock"),
            "{skewed}"
        );
        let schedule = check(outgoing(Kind::Schedule, "nightly", "null")).unwrap_err();
        assert!(
            schedule.contains("cargo eventfn trigger nightly"),
            "{schedule}"
        );
    }

    #[test]
    fn listings_take_a_filter_and_a_limit() {
        assert_eq!(listing("").unwrap(), (Filter::All, 50));
        assert_eq!(listing("filter=dead&limit=5").unwrap(), (Filter::Dead, 5));
        assert_eq!(listing("filter=failed").unwrap(), (Filter::Failed, 50));
        assert!(listing("limit=0").unwrap_err().contains("from 1 to"));
        assert!(
            listing("filter=lost")
                .unwrap_err()
                .contains("filter=all|failed|dead")
        );
    }

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
