//! The sandbox's HTTP API on 127.0.0.1 (see [`eventfn_core::sandbox`] for its requests; another
//! local process publishes through it with `crate::sandbox_bus::HttpBus`).
//!
//! The routes are few and fixed, so they are matched by hand over `hyper`'s server rather than
//! through a web framework; queries are two plain words or numbers, read without a URL crate.
//!
//! It is for this machine's processes only (see [`eventfn_core::sandbox`] for the checks on
//! `Host`, `Origin` and `Content-Type`), and no client can starve the others ([`Limits`]): heads
//! and bodies have timeouts, bodies are bounded by their route before they are read and by a
//! budget across connections while they are, and connections beyond a cap wait in the backlog.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use eventfn_core::quote::excerpt;
use eventfn_core::sandbox::{
    ApiError, AppInfo, AttemptView, Counted, Deliveries, DeliveryDetail, MAX_MESSAGES,
    MAX_PUBLISH_BYTES, MAX_SMALL_BYTES, OutgoingMessage, PublishRequest, Published, PurgeRequest,
    ReplayRequest, TriggerRequest,
};
use eventfn_core::{Kind, validate_name};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN};
use hyper::http::uri::Authority;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use super::engine::{Engine, Refusal, now_ms};
use super::store::{self, Filter};
use crate::publish::{MAX_PAYLOAD_BYTES, Message};

/// How far a publisher's clock may be from the sandbox's.
const MAX_CLOCK_SKEW_MS: u64 = 60_000;

/// The most deliveries one listing returns.
const MAX_LIMIT: usize = 10_000;

/// How often, at most, the sandbox says it cannot accept connections (out of file descriptors,
/// say): once is news, a line every few milliseconds would bury the log.
const ACCEPT_ERROR_EVERY: Duration = Duration::from_secs(5);

/// What the server allows its clients, so that none of them (a stuck client, a script opening
/// connections in a loop, a huge upload) can starve the others or the process.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a connection has to send the head of a request, counted from when the sandbox
    /// is ready to read one: so also how long a kept-alive connection may stay idle.
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive once its head has.
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog until one closes.
    pub connections: usize,
    /// Request bodies held in memory at once, in bytes, across all connections; a request whose
    /// body does not fit now is answered `503` (with `Retry-After`), never queued.
    pub buffered_bytes: usize,
    /// How long a connection is served: then it is closed once its answer under way is out
    /// (within `body_timeout`), so a client that stops reading an answer cannot hold its place.
    /// A `GET /v1/stream` ends then too; the browser's `EventSource` connects again.
    pub connection_lifetime: Duration,
    /// `GET /v1/stream`s served at once: more are answered `503`.
    pub followers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            connections: 256,
            buffered_bytes: 64 * 1024 * 1024,
            connection_lifetime: Duration::from_secs(60),
            followers: 32,
        }
    }
}

/// What every request is answered with.
struct Server {
    engine: Arc<Engine>,
    info: AppInfo,
    /// The port the sandbox listens on: requests must be for it.
    port: u16,
    limits: Limits,
    /// Room for request bodies, in KiB.
    buffers: Arc<Semaphore>,
    /// Room for `GET /v1/stream`s.
    followers: Arc<Semaphore>,
}

/// An answer's body: whole, or a stream of server-sent events.
type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Serves the API on `listener` until the process ends.
pub async fn serve(engine: Arc<Engine>, listener: TcpListener, info: AppInfo, limits: Limits) {
    let port = listener.local_addr().map_or(0, |a| a.port());
    let server = Arc::new(Server {
        engine,
        info,
        port,
        limits,
        buffers: Arc::new(Semaphore::new(
            (limits.buffered_bytes / 1024).clamp(1, Semaphore::MAX_PERMITS),
        )),
        followers: Arc::new(Semaphore::new(limits.followers.max(1))),
    });
    let connections = Arc::new(Semaphore::new(limits.connections.max(1)));
    let mut failing = AcceptErrors {
        log: Some(server.engine.log()),
        ..AcceptErrors::default()
    };
    loop {
        // Closed never: the semaphore lives as long as this loop.
        let Ok(permit) = connections.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                failing.recovered();
                stream
            }
            Err(error) => {
                // Out of file descriptors, say: the next accept may succeed once some close.
                tokio::time::sleep(failing.failed(&error)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(harden(server.answer(request).await)) }
            });
            // A client that goes away mid-request is no concern of the sandbox.
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = tokio::time::sleep(limits.connection_lifetime) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(limits.body_timeout, connection).await;
                }
            }
            drop(permit);
        });
    }
}

/// Failures to accept a connection, in a row: how long to wait before the next try (10 ms,
/// doubled up to a second), and a warning at most every [`ACCEPT_ERROR_EVERY`].
#[derive(Default)]
struct AcceptErrors {
    /// Where the warnings go; none in the tests.
    log: Option<super::log::Log>,
    in_a_row: u32,
    last_said: Option<std::time::Instant>,
    unsaid: u64,
}

impl AcceptErrors {
    fn failed(&mut self, error: &std::io::Error) -> Duration {
        self.in_a_row = self.in_a_row.saturating_add(1);
        if self
            .last_said
            .is_none_or(|at| at.elapsed() >= ACCEPT_ERROR_EVERY)
        {
            let more = match self.unsaid {
                0 => String::new(),
                n => format!(" ({n} more failures since the last warning)"),
            };
            if let Some(log) = &self.log {
                log.warn(&format!(
                    "the sandbox could not accept a connection: {error}{more}"
                ));
            }
            self.last_said = Some(std::time::Instant::now());
            self.unsaid = 0;
        } else {
            self.unsaid += 1;
        }
        Duration::from_millis(10 << (self.in_a_row - 1).min(7)).min(Duration::from_secs(1))
    }

    fn recovered(&mut self) {
        self.in_a_row = 0;
    }
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_else(|e| {
        serde_json::to_vec(&ApiError {
            error: e.to_string(),
        })
        .unwrap_or_default()
    });
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)).boxed_unsync())
        .unwrap_or_default()
}

/// The headers every answer carries: no other site may frame the dashboard (so it cannot be
/// made to click for one), and no answer is read as another type than it says.
fn harden(mut response: Response<Body>) -> Response<Body> {
    use hyper::header::{HeaderValue, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
    let headers = response.headers_mut();
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        hyper::header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The dashboard's files, in the binary: no build step, nothing fetched from elsewhere.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("dashboard/index.html"),
    ),
    (
        "/dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/dashboard.js"),
    ),
    (
        "/dashboard.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/dashboard.css"),
    ),
];

/// The dashboard's policy: its own files and API only, no inline script, never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

fn asset(content_type: &'static str, text: &'static str) -> Response<Body> {
    Response::builder()
        .header(CONTENT_TYPE, content_type)
        .header(hyper::header::CONTENT_SECURITY_POLICY, CSP)
        .header(hyper::header::CACHE_CONTROL, "no-cache")
        .body(Full::new(Bytes::from_static(text.as_bytes())).boxed_unsync())
        .unwrap_or_default()
}

/// How often a quiet stream says it is alive, so that a client gone away is noticed.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// `GET /v1/stream`: the engine's changes as server-sent events, holding `place` while it lasts.
fn stream(changes: broadcast::Receiver<Bytes>, place: OwnedSemaphorePermit) -> Response<Body> {
    // Reconnect after a second when the stream ends (it does with its connection).
    let first = Bytes::from_static(b"retry: 1000\n: eventfn sandbox\n\n");
    let events = futures_util::stream::unfold(
        (Some(first), changes, place),
        |(first, mut changes, place)| async move {
            let bytes = match first {
                Some(first) => first,
                None => match tokio::time::timeout(HEARTBEAT, changes.recv()).await {
                    Ok(Ok(change)) => change,
                    Ok(Err(broadcast::error::RecvError::Lagged(missed))) => {
                        super::engine::sse("lagged", &Counted { count: missed })
                    }
                    // The engine is gone: the stream ends.
                    Ok(Err(broadcast::error::RecvError::Closed)) => Bytes::new(),
                    Err(_) => Bytes::from_static(b": alive\n\n"),
                },
            };
            (!bytes.is_empty()).then(|| {
                (
                    Ok::<_, Infallible>(Frame::data(bytes)),
                    (None, changes, place),
                )
            })
        },
    );
    Response::builder()
        .header(CONTENT_TYPE, "text/event-stream")
        .header(hyper::header::CACHE_CONTROL, "no-store")
        .body(StreamBody::new(events).boxed_unsync())
        .unwrap_or_default()
}

fn refused(status: StatusCode, error: impl Into<String>) -> Response<Body> {
    json(
        status,
        &ApiError {
            error: error.into(),
        },
    )
}

fn refusal(refusal: Refusal) -> Response<Body> {
    match refusal {
        Refusal::Invalid(why) => refused(StatusCode::BAD_REQUEST, why),
        Refusal::NotFound(why) => refused(StatusCode::NOT_FOUND, why),
        Refusal::Store(why) => refused(StatusCode::INTERNAL_SERVER_ERROR, why),
    }
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    App,
    Publish,
    Trigger,
    Deliveries,
    /// One delivery in full, by its id.
    Delivery(i64),
    Replay,
    ReplayAll,
    Purge,
    Stream,
    /// One of the dashboard's [`ASSETS`].
    Asset(usize),
}

/// The routes, as the answer to a request for none of them lists them.
const ROUTES: &str = "GET /v1/app, POST /v1/publish, POST /v1/trigger, GET /v1/deliveries, \
                      GET /v1/deliveries/{id}, POST /v1/replay, POST /v1/replay-all, \
                      POST /v1/purge and GET /v1/stream (and the dashboard, GET /)";

impl Server {
    async fn answer(&self, request: Request<Incoming>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        // Opening the dashboard from a link on another site's page is a top-level navigation to
        // `/`: harmless (the page cannot be framed, and what it then asks is its own).
        let opened = parts.method == Method::GET
            && parts.uri.path() == "/"
            && parts
                .headers
                .get("sec-fetch-mode")
                .is_some_and(|mode| mode == "navigate");
        if let Err(why) = self.check_sender(&parts.headers, opened) {
            return refused(StatusCode::FORBIDDEN, why);
        }
        let path = parts.uri.path();
        let route = match (&parts.method, path) {
            (&Method::GET, "/v1/app") => Route::App,
            (&Method::POST, "/v1/publish") => Route::Publish,
            (&Method::POST, "/v1/trigger") => Route::Trigger,
            (&Method::GET, "/v1/deliveries") => Route::Deliveries,
            (&Method::POST, "/v1/replay") => Route::Replay,
            (&Method::POST, "/v1/replay-all") => Route::ReplayAll,
            (&Method::POST, "/v1/purge") => Route::Purge,
            (&Method::GET, "/v1/stream") => Route::Stream,
            (&Method::GET, _) if ASSETS.iter().any(|(at, ..)| *at == path) => {
                Route::Asset(ASSETS.iter().position(|(at, ..)| *at == path).unwrap_or(0))
            }
            (&Method::GET, _) if path.starts_with("/v1/deliveries/") => {
                match delivery_id(&path["/v1/deliveries/".len()..]) {
                    Ok(id) => Route::Delivery(id),
                    Err(why) => return refused(StatusCode::BAD_REQUEST, why),
                }
            }
            (method, _) => {
                return refused(
                    StatusCode::NOT_FOUND,
                    format!(
                        "the sandbox has no `{method} {}`; its API is {ROUTES}",
                        excerpt(path)
                    ),
                );
            }
        };
        // Held until the answer is made: the body's room in memory.
        let (body, _room) = match route {
            Route::App
            | Route::Deliveries
            | Route::Delivery(_)
            | Route::Stream
            | Route::Asset(_) => (Bytes::new(), None),
            Route::Publish | Route::Trigger | Route::Replay | Route::ReplayAll | Route::Purge => {
                if let Err(why) = json_content(&parts.headers) {
                    return refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, why);
                }
                let most = match route {
                    Route::Publish => MAX_PUBLISH_BYTES,
                    _ => MAX_SMALL_BYTES,
                };
                match self.read_body(&parts, body, most).await {
                    Ok((body, room)) => (body, Some(room)),
                    Err(refusal) => return refusal,
                }
            }
        };
        let engine = &self.engine;
        match route {
            Route::Asset(index) => {
                let (_, content_type, text) = ASSETS[index];
                asset(content_type, text)
            }
            Route::Stream => match self.followers.clone().try_acquire_owned() {
                Ok(place) => stream(engine.follow(), place),
                Err(_) => refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the sandbox streams to {} followers at most, and has as many now: close \
                         a dashboard tab",
                        self.limits.followers
                    ),
                ),
            },
            Route::App => match engine.counts().await {
                Ok(counts) => {
                    let mut info = self.info.clone();
                    // Those of handlers the app no longer has too.
                    info.dead = counts.values().map(|&(_, dead)| dead).sum();
                    for handler in &mut info.handlers {
                        if let Some(&(pending, dead)) = counts.get(&handler.function) {
                            (handler.pending, handler.dead) = (pending, dead);
                        }
                        if handler.kind == Kind::Schedule {
                            handler.next = engine.next_firing(&handler.function);
                        }
                    }
                    json(StatusCode::OK, &info)
                }
                Err(e) => refusal(e),
            },
            Route::ReplayAll => match engine.replay_all().await {
                Ok(count) => json(StatusCode::OK, &Counted { count }),
                Err(e) => refusal(e),
            },
            Route::Purge => {
                let request: PurgeRequest = match read(&body) {
                    Ok(request) => request,
                    Err(why) => return refused(StatusCode::BAD_REQUEST, why),
                };
                match engine.purge(request.id).await {
                    Ok(count) => json(StatusCode::OK, &Counted { count }),
                    Err(e) => refusal(e),
                }
            }
            Route::Publish => {
                let request: PublishRequest = match read(&body) {
                    Ok(request) => request,
                    Err(why) => return refused(StatusCode::BAD_REQUEST, why),
                };
                if request.messages.len() > MAX_MESSAGES {
                    return refused(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "a publish carries at most {MAX_MESSAGES} messages, as an SNS or SQS \
                             batch does; this one has {}: send them ten at a time",
                            request.messages.len()
                        ),
                    );
                }
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
            Route::Trigger => {
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
            Route::Deliveries => {
                let (filter, limit) = match listing(parts.uri.query().unwrap_or("")) {
                    Ok(query) => query,
                    Err(why) => return refused(StatusCode::BAD_REQUEST, why),
                };
                match engine.list(filter, limit).await {
                    Ok(deliveries) => json(
                        StatusCode::OK,
                        &Deliveries {
                            deliveries: deliveries.into_iter().map(store::Delivery::view).collect(),
                        },
                    ),
                    Err(e) => refusal(e),
                }
            }
            Route::Delivery(id) => match engine.detail(id).await {
                Ok(detail) => {
                    let mut detail = detail_view(detail);
                    let delivery = &mut detail.delivery;
                    if delivery.kind == Kind::Schedule {
                        delivery.timezone = engine.timezone_of(&delivery.handler);
                    }
                    json(StatusCode::OK, &detail)
                }
                Err(e) => refusal(e),
            },
            Route::Replay => {
                let request: ReplayRequest = match read(&body) {
                    Ok(request) => request,
                    Err(why) => return refused(StatusCode::BAD_REQUEST, why),
                };
                match engine.replay(request.id).await {
                    Ok(delivery) => json(StatusCode::OK, &delivery.view()),
                    Err(e) => refusal(e),
                }
            }
        }
    }

    /// Whether a request comes from a process of this machine rather than from a web page its
    /// user visits: it must be for the sandbox's own address (a page that rebinds its own name
    /// to 127.0.0.1 sends its name as `Host`), and carry no `Origin` but the sandbox's own (a
    /// page's `fetch` or form always carries its own).
    fn check_sender(&self, headers: &HeaderMap, opened: bool) -> std::result::Result<(), String> {
        let port = self.port;
        let ours = format!("127.0.0.1:{port}, localhost:{port} or [::1]:{port}");
        let Some(host) = headers.get(HOST) else {
            return Err(format!(
                "the request has no Host header: the sandbox answers only requests for its own \
                 address ({ours})"
            ));
        };
        if !self.is_own(host.as_bytes()) {
            return Err(format!(
                "the sandbox answers only requests for its own address ({ours}), not for `{}`",
                excerpt(&String::from_utf8_lossy(host.as_bytes()))
            ));
        }
        // What a browser says of the page a request comes from: another site's `<img>` or
        // `<script>` sends no `Origin`, but it does send this (a process of this machine sends
        // neither, a page of the sandbox's own `same-origin`, an address typed in `none`).
        if let Some(site) = headers.get("sec-fetch-site")
            && !opened
            && !matches!(site.as_bytes(), b"same-origin" | b"none")
        {
            return Err(format!(
                "the sandbox takes no requests from other web pages: this one came from a \
                 `{}` page (Sec-Fetch-Site)",
                excerpt(&String::from_utf8_lossy(site.as_bytes()))
            ));
        }
        if let Some(origin) = headers.get(ORIGIN) {
            let own = origin
                .as_bytes()
                .strip_prefix(b"http://")
                .is_some_and(|authority| self.is_own(authority));
            if !own {
                return Err(format!(
                    "the sandbox takes no requests from web pages: `Origin: {}` is not its own \
                     (http://127.0.0.1:{port})",
                    excerpt(&String::from_utf8_lossy(origin.as_bytes()))
                ));
            }
        }
        Ok(())
    }

    /// Whether `authority` (`host:port`) names this sandbox: a loopback name or address, and its
    /// port.
    fn is_own(&self, authority: &[u8]) -> bool {
        let Ok(authority) = Authority::try_from(authority) else {
            return false;
        };
        let host = authority.host();
        authority.port_u16().unwrap_or(80) == self.port
            && (host == "127.0.0.1" || host == "[::1]" || host.eq_ignore_ascii_case("localhost"))
    }

    /// The body of a request to a route that takes at most `most` bytes, with its room in
    /// memory: a `Content-Length` over that is refused before anything is read, a body that
    /// grows past it is refused as soon as it does, and one that is slower than the limits
    /// allow is refused too.
    async fn read_body(
        &self,
        parts: &hyper::http::request::Parts,
        body: Incoming,
        most: usize,
    ) -> std::result::Result<(Bytes, OwnedSemaphorePermit), Response<Body>> {
        let what = format!("{} {}", parts.method, parts.uri.path());
        let too_large = |size: &str| {
            refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is {size}; `{what}` takes at most {most} bytes"),
            )
        };
        // hyper has refused a Content-Length that is not a number.
        let declared: Option<u64> = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok()?.trim().parse().ok());
        if let Some(length) = declared.filter(|&length| length > most as u64) {
            return Err(too_large(&format!("{length} bytes")));
        }
        let expected = declared.map_or(most, |length| length as usize);
        let room = u32::try_from(expected.div_ceil(1024).max(1))
            .unwrap_or(u32::MAX)
            .min(self.buffers_kib());
        // Room is taken now or not at all: a request never waits behind others' large bodies
        // (a few slow uploads could otherwise hold every later request in the queue).
        let Ok(room) = self.buffers.clone().try_acquire_many_owned(room) else {
            return Err(Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .header(hyper::header::RETRY_AFTER, "1")
                .header(CONTENT_TYPE, "application/json")
                .body(
                    Full::new(Bytes::from(
                        serde_json::to_vec(&ApiError {
                            error: format!(
                                "the sandbox is reading {} of request bodies already, and has no \
                             room for {expected} bytes more now: try again in a moment",
                                human_bytes(self.limits.buffered_bytes)
                            ),
                        })
                        .unwrap_or_default(),
                    ))
                    .boxed_unsync(),
                )
                .unwrap_or_default());
        };
        let read = Limited::new(body, most).collect();
        match tokio::time::timeout(self.limits.body_timeout, read).await {
            Err(_) => Err(refused(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {:?}",
                    self.limits.body_timeout
                ),
            )),
            Ok(Ok(collected)) => Ok((collected.to_bytes(), room)),
            Ok(Err(error)) if error.is::<LengthLimitError>() => {
                Err(too_large(&format!("more than {most} bytes")))
            }
            Ok(Err(error)) => Err(refused(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {error}"),
            )),
        }
    }

    /// The room for request bodies in all, in KiB.
    fn buffers_kib(&self) -> u32 {
        u32::try_from((self.limits.buffered_bytes / 1024).clamp(1, Semaphore::MAX_PERMITS))
            .unwrap_or(u32::MAX)
    }
}

/// `bytes` in MB when that is a whole number, else in bytes.
fn human_bytes(bytes: usize) -> String {
    const MB: usize = 1024 * 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Whether a write is JSON. Only the media type's essence is compared (parameters such as
/// `charset` may follow a `;`): a browser sends `application/json` across sites only after a
/// preflight, which the sandbox does not answer, so this keeps web pages' forms and simple
/// requests out.
fn json_content(headers: &HeaderMap) -> std::result::Result<(), String> {
    let given = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()));
    let essence = given
        .as_deref()
        .and_then(|t| t.split(';').next())
        .unwrap_or("");
    if essence.trim().eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(match given {
        None => "the request has no Content-Type: the sandbox takes writes as \
                 `Content-Type: application/json`"
            .to_owned(),
        Some(given) => format!(
            "the sandbox takes writes as `Content-Type: application/json`, not `{}`",
            excerpt(&given)
        ),
    })
}

fn read<T: serde::de::DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    serde_json::from_slice(body).map_err(|e| {
        format!(
            "the request body is not what this endpoint takes: {}",
            excerpt(&e.to_string())
        )
    })
}

/// A message from another process, checked as `eventfn::publish` checks its own.
fn check(outgoing: OutgoingMessage) -> std::result::Result<Message, String> {
    let OutgoingMessage {
        kind,
        name,
        body,
        time,
        delay,
        source,
        detail_type,
    } = outgoing;
    let what = kind.as_str();
    if kind == Kind::Rule {
        // An event put on a bus: checked as `PutEvents` checks it. Any source is taken, as
        // `cargo eventfn publish --bus default --source aws.s3` stands in for AWS's events.
        let (Some(source), Some(detail_type)) = (source, detail_type) else {
            return Err(format!(
                "cannot put an event on bus `{}`: it needs its `source` and `detail-type`",
                excerpt(&name)
            ));
        };
        if delay != 0 {
            return Err(format!(
                "cannot put an event on bus `{}` with a delay: EventBridge delivers at once",
                excerpt(&name)
            ));
        }
        // Checked as JSON, and a JSON object, by `put_json`.
        let mut message = Message::put_json(&name, &source, &detail_type, body, true)
            .map_err(|e| e.to_string())?;
        message.time = checked_time(time, &message)?;
        return Ok(message);
    }
    if kind == Kind::Schedule {
        let name = excerpt(&name);
        return Err(format!(
            "cannot publish to schedule `{name}`: schedules are fired with `cargo eventfn trigger {name}`"
        ));
    }
    validate_name(&name).map_err(|e| {
        format!(
            "cannot send to {what} `{}`: invalid {what} name: {e}",
            excerpt(&name)
        )
    })?;
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(format!(
            "cannot send to {what} `{name}`: {}",
            eventfn_core::payload_too_large(body.len())
        ));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(&body)
        .map_err(|e| format!("cannot send to {what} `{name}`: the payload is not JSON: {e}"))?;
    let mut message = Message {
        kind,
        name,
        body,
        time: 0,
        delay,
        entry: None,
    };
    message.time = checked_time(time, &message)?;
    Ok(message)
}

/// The publisher's clock says when it published; delays count from the sandbox's, so a time far
/// from it would shorten or stretch them.
fn checked_time(time: Option<u64>, message: &Message) -> std::result::Result<u64, String> {
    let now = now_ms();
    let time = time.unwrap_or(now);
    if time.abs_diff(now) > MAX_CLOCK_SKEW_MS {
        return Err(format!(
            "cannot send to {} `{}`: its time {time} (ms since the epoch) is more than a minute \
             from the sandbox's clock ({now})",
            message.kind.as_str(),
            message.name
        ));
    }
    Ok(time)
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
                    .ok_or_else(|| {
                        format!(
                            "limit `{}` is not a number from 1 to {MAX_LIMIT}",
                            excerpt(n)
                        )
                    })?;
            }
            _ => {
                return Err(format!(
                    "`{}` is not a query of /v1/deliveries: it takes filter=all|failed|dead and \
                     limit=N",
                    excerpt(pair)
                ));
            }
        }
    }
    Ok((filter, limit))
}

/// The id in `GET /v1/deliveries/{id}`.
fn delivery_id(text: &str) -> std::result::Result<i64, String> {
    text.parse().map_err(|_| {
        format!(
            "`{}` is not a delivery id: those are numbers, as GET /v1/deliveries lists them",
            excerpt(text)
        )
    })
}

fn detail_view(detail: store::Detail) -> DeliveryDetail {
    DeliveryDetail {
        delivery: detail.delivery.view(),
        attempts: detail
            .attempts
            .into_iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                started: a.started,
                duration_us: a.duration_us,
                outcome: a.ended.as_str().to_owned(),
                error: a.error,
                log: a.log,
            })
            .collect(),
        earlier_attempts: detail.earlier_attempts,
        published: detail
            .published
            .into_iter()
            .map(store::Delivery::view)
            .collect(),
        more_published: detail.more_published,
    }
}

/// What `GET /v1/app` answers, but for the counts and next firings, which it reads when asked.
pub fn app_info(engine: &Engine, store: &std::path::Path) -> AppInfo {
    AppInfo {
        store: store.display().to_string(),
        handlers: engine.describe(),
        dead: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A sandbox with no handlers, served with `limits` on a free port: its port, and the
    /// directory of its store (removed when dropped).
    async fn server(limits: Limits) -> (u16, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let settings = super::super::engine::Settings {
            store: dir.path().join("sandbox.db"),
            defaults: Default::default(),
            retry_delay_ms: 1000,
        };
        let (engine, _) = Engine::start(&[], settings, super::super::log::Log::quiet())
            .await
            .unwrap();
        engine.deliver();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let info = app_info(&engine, dir.path());
        tokio::spawn(serve(engine, listener, info, limits));
        (port, dir)
    }

    /// Sends `request` as it is on a new connection and reads until the server closes it or
    /// `wait` passes: the status code of what came back (0 for nothing), and all of it.
    async fn exchange(port: u16, request: &[u8], wait: Duration) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, answer)
    }

    /// A request with `headers` (each a whole line), closing the connection after its answer.
    fn request(method: &str, path: &str, headers: &[&str], body: &str) -> Vec<u8> {
        let mut text = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        for header in headers {
            text.push_str(header);
            text.push_str("\r\n");
        }
        if !body.is_empty() {
            text.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        text.push_str("\r\n");
        text.push_str(body);
        text.into_bytes()
    }

    const PUBLISH: &str = r#"{"messages":[{"kind":"event","name":"signup","body":"1"}]}"#;

    #[tokio::test]
    async fn only_this_machines_processes_are_answered() {
        let (port, _dir) = server(Limits::default()).await;
        let host = format!("Host: 127.0.0.1:{port}");
        let json = "Content-Type: application/json";
        let wait = Duration::from_secs(10);
        // The sandbox's own names: answered (here: no handler subscribes, so 400 from the engine).
        for own in [
            format!("Host: 127.0.0.1:{port}"),
            format!("Host: localhost:{port}"),
            format!("Host: LOCALHOST:{port}"),
            format!("Host: [::1]:{port}"),
        ] {
            let (status, answer) =
                exchange(port, &request("GET", "/v1/app", &[&own], ""), wait).await;
            assert_eq!(status, 200, "{own}: {answer}");
        }
        // DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
        for foreign in [
            format!("Host: evil.example:{port}"),
            "Host: 127.0.0.1:80".to_owned(),
            "Host: 127.0.0.1".to_owned(),
            format!("Host: 127.0.0.2:{port}"),
        ] {
            let (status, answer) = exchange(
                port,
                &request("GET", "/v1/deliveries", &[&foreign], ""),
                wait,
            )
            .await;
            assert_eq!(status, 403, "{foreign}: {answer}");
            assert!(
                answer.contains("answers only requests for its own address"),
                "{answer}"
            );
        }
        // No Host at all (HTTP/1.0 allows it).
        let (status, answer) = exchange(port, b"GET /v1/app HTTP/1.0\r\n\r\n", wait).await;
        assert!(answer.contains("no Host header"), "{status}: {answer}");
        // A page of another origin, even one on this machine: refused, whatever it asks.
        for origin in [
            "Origin: https://evil.example",
            "Origin: null",
            "Origin: http://127.0.0.1:1",
            "Origin: http://localhost",
        ] {
            let (status, answer) = exchange(
                port,
                &request("POST", "/v1/publish", &[&host, origin, json], PUBLISH),
                wait,
            )
            .await;
            assert_eq!(status, 403, "{origin}: {answer}");
            assert!(
                answer.contains("takes no requests from web pages"),
                "{answer}"
            );
        }
        // Its own origin (a page the sandbox served itself) is taken.
        let own = format!("Origin: http://localhost:{port}");
        let (status, answer) = exchange(
            port,
            &request("POST", "/v1/publish", &[&host, &own, json], PUBLISH),
            wait,
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer.contains("no handler of this app subscribes"),
            "{answer}"
        );
        // A write that a cross-site form or a simple fetch can send (no preflight): refused.
        for content_type in [
            "Content-Type: text/plain",
            "Content-Type: application/x-www-form-urlencoded",
            "Content-Type: multipart/form-data; boundary=x",
        ] {
            let (status, answer) = exchange(
                port,
                &request("POST", "/v1/publish", &[&host, content_type], PUBLISH),
                wait,
            )
            .await;
            assert_eq!(status, 415, "{content_type}: {answer}");
            assert!(answer.contains("takes writes as `Content-Type: application/json`"));
        }
        let (status, answer) =
            exchange(port, &request("POST", "/v1/trigger", &[&host], "{}"), wait).await;
        assert_eq!(status, 415, "{answer}");
        assert!(
            answer.contains("the request has no Content-Type"),
            "{answer}"
        );
        // With parameters, in any case: taken.
        let (status, answer) = exchange(
            port,
            &request(
                "POST",
                "/v1/publish",
                &[&host, "Content-Type: Application/JSON; charset=utf-8"],
                PUBLISH,
            ),
            wait,
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer.contains("no handler of this app subscribes"),
            "{answer}"
        );
    }

    #[test]
    fn the_dashboard_is_small() {
        let bytes: usize = ASSETS.iter().map(|(_, _, text)| text.len()).sum();
        assert!(bytes < 200 * 1024, "the dashboard is {bytes} bytes");
    }

    #[tokio::test]
    async fn the_dashboard_is_served_with_a_policy_no_other_site_can_frame() {
        let (port, _dir) = server(Limits::default()).await;
        let host = format!("Host: 127.0.0.1:{port}");
        let wait = Duration::from_secs(10);
        for (path, content_type, text) in ASSETS {
            let (status, answer) = exchange(port, &request("GET", path, &[&host], ""), wait).await;
            assert_eq!(status, 200, "{path}: {answer}");
            let answer = answer.to_ascii_lowercase();
            for header in [
                format!("content-type: {content_type}"),
                "x-frame-options: deny".to_owned(),
                "x-content-type-options: nosniff".to_owned(),
                "content-security-policy: default-src 'none'; script-src 'self';".to_owned(),
                "frame-ancestors 'none'".to_owned(),
            ] {
                assert!(answer.contains(&header), "{path} lacks {header}: {answer}");
            }
            assert!(answer.ends_with(&text.to_ascii_lowercase()), "{path}");
        }
        // The API's answers are never framed or sniffed either.
        let (_, answer) = exchange(port, &request("GET", "/v1/app", &[&host], ""), wait).await;
        assert!(answer.contains("x-frame-options: DENY"), "{answer}");
        assert!(
            answer.contains("x-content-type-options: nosniff"),
            "{answer}"
        );
        // Nor served to another site's page.
        let (status, _) = exchange(
            port,
            &request("GET", "/", &["Host: evil.example"], ""),
            wait,
        )
        .await;
        assert_eq!(status, 403);
        // Nor to a request another page makes (an `<img src>` sends no Origin, but this).
        for (site, expected) in [
            ("cross-site", 403),
            ("same-site", 403),
            ("same-origin", 200),
            ("none", 200),
        ] {
            let header = format!("Sec-Fetch-Site: {site}");
            let (status, answer) = exchange(
                port,
                &request("GET", "/v1/app", &[&host, &header], ""),
                wait,
            )
            .await;
            assert_eq!(status, expected, "{site}: {answer}");
            if expected == 403 {
                assert!(
                    answer.contains(&format!("came from a `{site}` page (Sec-Fetch-Site)")),
                    "{answer}"
                );
            }
        }
        // But a link on another site's page opens the dashboard itself, and only that.
        let link = ["Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate"];
        let (status, _) = exchange(
            port,
            &request("GET", "/", &[&host, link[0], link[1]], ""),
            wait,
        )
        .await;
        assert_eq!(status, 200);
        for path in ["/v1/app", "/dashboard.js"] {
            let (status, _) = exchange(
                port,
                &request("GET", path, &[&host, link[0], link[1]], ""),
                wait,
            )
            .await;
            assert_eq!(status, 403, "{path}");
        }
    }

    #[tokio::test]
    async fn the_stream_opens_at_once_and_is_limited_in_number() {
        let limits = Limits {
            followers: 1,
            ..Limits::default()
        };
        let (port, _dir) = server(limits).await;
        let host = format!("Host: 127.0.0.1:{port}");
        let (status, answer) = exchange(
            port,
            &request("GET", "/v1/stream", &[&host], ""),
            Duration::from_millis(500),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert!(
            answer.contains("content-type: text/event-stream"),
            "{answer}"
        );
        assert!(answer.contains("retry: 1000\n"), "{answer}");
        // One follower at a time here: a second is turned away while the first is served.
        let mut first = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        first
            .write_all(&request("GET", "/v1/stream", &[&host], ""))
            .await
            .unwrap();
        let mut head = [0; 12];
        first.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        let (status, answer) = exchange(
            port,
            &request("GET", "/v1/stream", &[&host], ""),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(status, 503, "{answer}");
        assert!(
            answer.contains("streams to 1 followers at most"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn purges_and_replays_of_all_take_json_and_name_what_is_missing() {
        let (port, _dir) = server(Limits::default()).await;
        let host = format!("Host: 127.0.0.1:{port}");
        let json = "Content-Type: application/json";
        let wait = Duration::from_secs(10);
        for path in ["/v1/purge", "/v1/replay-all"] {
            let (status, answer) =
                exchange(port, &request("POST", path, &[&host, json], "{}"), wait).await;
            assert_eq!(status, 200, "{path}: {answer}");
            assert!(answer.ends_with(r#"{"count":0}"#), "{answer}");
            // As every write: JSON only, so no other site's form can send one.
            let (status, _) = exchange(
                port,
                &request("POST", path, &[&host, "Content-Type: text/plain"], "{}"),
                wait,
            )
            .await;
            assert_eq!(status, 415, "{path}");
        }
        let (status, answer) = exchange(
            port,
            &request("POST", "/v1/purge", &[&host, json], r#"{"id":12}"#),
            wait,
        )
        .await;
        assert_eq!(status, 404, "{answer}");
        assert!(
            answer.contains("there is no delivery 12 in the sandbox"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn one_delivery_is_asked_for_by_its_id() {
        let (port, _dir) = server(Limits::default()).await;
        let host = format!("Host: 127.0.0.1:{port}");
        let wait = Duration::from_secs(10);
        let (status, answer) = exchange(
            port,
            &request("GET", "/v1/deliveries/999999", &[&host], ""),
            wait,
        )
        .await;
        assert_eq!(status, 404, "{answer}");
        assert!(
            answer.contains(
                "there is no delivery 999999 in the sandbox: `cargo eventfn events` lists its \
                 deliveries"
            ),
            "{answer}"
        );
        for bad in ["abc", "", "1x", "1/attempts", "99999999999999999999"] {
            let (status, answer) = exchange(
                port,
                &request("GET", &format!("/v1/deliveries/{bad}"), &[&host], ""),
                wait,
            )
            .await;
            assert_eq!(status, 400, "{bad}: {answer}");
            assert!(
                answer.contains(&format!("`{bad}` is not a delivery id: those are numbers")),
                "{answer}"
            );
        }
        // Only for this machine's processes, as every route.
        let (status, _) = exchange(
            port,
            &request("GET", "/v1/deliveries/1", &["Host: evil.example"], ""),
            wait,
        )
        .await;
        assert_eq!(status, 403);
        let (status, answer) = exchange(
            port,
            &request("POST", "/v1/deliveries/1", &[&host], ""),
            wait,
        )
        .await;
        assert_eq!(status, 404, "{answer}");
        assert!(answer.contains("GET /v1/deliveries/{id}"), "{answer}");
    }

    #[tokio::test]
    async fn bodies_are_bounded_by_what_their_route_takes() {
        let (port, _dir) = server(Limits::default()).await;
        let host = format!("Host: 127.0.0.1:{port}");
        let json = "Content-Type: application/json";
        let wait = Duration::from_secs(10);
        // Refused from its Content-Length alone: nothing of the 60 MB is sent, or read.
        let declared = format!(
            "POST /v1/publish HTTP/1.1\r\n{host}\r\n{json}\r\nContent-Length: 60000000\r\n\r\n"
        );
        let (status, answer) = exchange(port, declared.as_bytes(), wait).await;
        assert_eq!(status, 413, "{answer}");
        assert!(
            answer.contains(&format!(
                "the request body is 60000000 bytes; `POST /v1/publish` takes at most \
                 {MAX_PUBLISH_BYTES} bytes"
            )),
            "{answer}"
        );
        let small = format!(
            "POST /v1/replay HTTP/1.1\r\n{host}\r\n{json}\r\nContent-Length: {}\r\n\r\n",
            MAX_SMALL_BYTES + 1
        );
        let (status, answer) = exchange(port, small.as_bytes(), wait).await;
        assert_eq!(status, 413, "{answer}");
        // Chunked, with no length said: refused once it grows past the bound.
        let mut chunked = format!(
            "POST /v1/trigger HTTP/1.1\r\n{host}\r\n{json}\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .into_bytes();
        for _ in 0..20 {
            chunked.extend_from_slice(format!("400\r\n{}\r\n", "x".repeat(1024)).as_bytes());
        }
        let (status, answer) = exchange(port, &chunked, wait).await;
        assert_eq!(status, 413, "{answer}");
        assert!(
            answer.contains(&format!("more than {MAX_SMALL_BYTES} bytes")),
            "{answer}"
        );
        // Eleven messages: one more than a batch.
        let eleven = serde_json::json!({
            "messages": vec![serde_json::json!({"kind": "event", "name": "e", "body": "1"}); 11]
        })
        .to_string();
        let (status, answer) = exchange(
            port,
            &request("POST", "/v1/publish", &[&host, json], &eleven),
            wait,
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains("at most 10 messages"), "{answer}");
    }

    #[tokio::test]
    async fn slow_and_idle_connections_are_closed_and_their_number_is_capped() {
        let limits = Limits {
            header_timeout: Duration::from_millis(300),
            body_timeout: Duration::from_millis(300),
            connections: 4,
            ..Limits::default()
        };
        let (port, _dir) = server(limits).await;
        let host = format!("Host: 127.0.0.1:{port}");
        let started = std::time::Instant::now();
        // Half a head, never finished: closed after the header timeout (with no answer), not
        // held.
        let (status, _) =
            exchange(port, b"GET /v1/app HTTP/1.1\r\nHo", Duration::from_secs(10)).await;
        assert_eq!(status, 0);
        assert!(started.elapsed() < Duration::from_secs(5), "closed");
        // A head and half of its body: refused after the body timeout.
        let half = format!(
            "POST /v1/replay HTTP/1.1\r\n{host}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{\"id\""
        );
        let (status, answer) = exchange(port, half.as_bytes(), Duration::from_secs(10)).await;
        assert_eq!(status, 408, "{answer}");
        assert!(answer.contains("did not arrive within"), "{answer}");
        // Eight connections that send nothing hold the four places; a good request waits in the
        // backlog, then is answered once the idle ones are closed.
        let mut idle = Vec::new();
        for _ in 0..8 {
            idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        let started = std::time::Instant::now();
        let (status, answer) = exchange(
            port,
            &request("GET", "/v1/app", &[&host], ""),
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        // It waited for places: the cap held.
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert!(started.elapsed() < Duration::from_secs(5));
        // Each idle one was closed by the sandbox.
        for mut stream in idle {
            let mut rest = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest));
            assert!(read.await.is_ok(), "an idle connection stayed open");
        }
    }

    #[tokio::test]
    async fn a_connection_is_served_for_its_lifetime_then_closed() {
        let limits = Limits {
            connection_lifetime: Duration::from_millis(300),
            ..Limits::default()
        };
        let (port, _dir) = server(limits).await;
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!("GET /v1/app HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        // Kept alive after its answer, until its lifetime is over: then closed, well before the
        // 10 s the header timeout would take.
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer));
        assert!(read.await.is_ok(), "closed at the end of its lifetime");
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    }

    #[tokio::test]
    async fn a_body_that_finds_no_room_is_turned_away_at_once() {
        let limits = Limits {
            buffered_bytes: 64 * 1024,
            ..Limits::default()
        };
        let (port, _dir) = server(limits).await;
        let head = |length: usize| {
            format!(
                "POST /v1/publish HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                 Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
            )
        };
        // A slow upload holds all the room...
        let mut slow = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        slow.write_all(head(60 * 1024).as_bytes()).await.unwrap();
        slow.write_all(b"{").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // ...so another is answered 503 at once rather than queued behind it.
        let (status, answer) = exchange(
            port,
            format!("{}{}", head(PUBLISH.len() + 60_000), " ".repeat(10)).as_bytes(),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(status, 503, "{answer}");
        assert!(
            answer.contains("Retry-After") || answer.contains("retry-after"),
            "{answer}"
        );
        assert!(answer.contains("no room for"), "{answer}");
        // A small one still fits.
        let host = format!("Host: 127.0.0.1:{port}");
        let (status, answer) = exchange(
            port,
            &request(
                "POST",
                "/v1/publish",
                &[&host, "Content-Type: application/json"],
                PUBLISH,
            ),
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer.contains("no handler of this app subscribes"),
            "{answer}"
        );
        drop(slow);
    }

    #[test]
    fn failures_to_accept_back_off_and_are_said_now_and_then() {
        let mut errors = AcceptErrors::default();
        let error = std::io::Error::from_raw_os_error(24);
        let waits: Vec<u64> = (0..10)
            .map(|_| errors.failed(&error).as_millis() as u64)
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        // Said once; the other nine are counted for the next warning.
        assert_eq!(errors.unsaid, 9);
        errors.recovered();
        assert_eq!(errors.failed(&error).as_millis(), 10);
    }

    fn outgoing(kind: Kind, name: &str, body: &str) -> OutgoingMessage {
        OutgoingMessage {
            kind,
            name: name.to_owned(),
            body: body.to_owned(),
            time: None,
            delay: 0,
            source: None,
            detail_type: None,
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
        assert!(
            too_big.ends_with(&eventfn_core::payload_too_large(big.len())),
            "{too_big}"
        );
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
}
