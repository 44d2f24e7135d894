//! The SDK side of [`crate::aws`]: the bus that sends through SNS and SQS, and delays through
//! SQS and EventBridge Scheduler (feature `aws`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, SdkConfig};
use eventfn_core::Kind;
use eventfn_core::delay::{self, DELAY_ENV, DELAY_PARAMETER, DelayRoute, Wait};
use eventfn_core::quote::excerpt;
use tokio::sync::OnceCell;

use crate::Result;
use crate::aws::{
    BUSES_ENV, DELAY_ATTRIBUTE, NAME_ATTRIBUTE, QUEUES_ENV, STACK_ENV, TIME_ATTRIBUTE, TOPICS_ENV,
};
use crate::dispatch::now_ms;
use crate::error::{json_error, message as error};
use crate::publish::{Bus, Message};
use crate::ssm::Ssm;

/// How many schedules a publish creates at once.
const SCHEDULES_AT_ONCE: usize = 10;

/// Topic ARNs and queue URLs by kind and name.
type Addresses = HashMap<(Kind, String), String>;

/// The SDK's default HTTPS client, on rustls with *ring* rather than AWS-LC: AWS-LC is a C and
/// assembly build (with CMake on some targets) that took minutes of every clean build, and the
/// SDK's `default-https-client` feature cannot pick another provider. What it builds is what
/// that feature's client does (`aws_smithy_runtime::client::http::default_https_client`): the
/// platform's trusted roots, the connector settings and sleep of the client that uses it, and
/// the proxy from the environment (`HTTPS_PROXY`, `NO_PROXY`, ...).
pub(crate) fn https_client() -> aws_sdk_sqs::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    // `build_with_connector_fn` is `#[doc(hidden)]`: the SDK's own default client is built with
    // it, and the public `build_https` would leave out the proxy from the environment.
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = aws_smithy_http_client::Connector::builder()
            .tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

#[derive(Default)]
pub(crate) struct AwsBus {
    config: OnceCell<SdkConfig>,
    #[cfg(feature = "aws-sns")]
    sns: OnceCell<aws_sdk_sns::Client>,
    sqs: OnceCell<aws_sdk_sqs::Client>,
    ssm: OnceCell<Ssm>,
    #[cfg(feature = "aws-scheduler")]
    scheduler: OnceCell<aws_sdk_scheduler::Client>,
    #[cfg(feature = "aws-eventbridge")]
    eventbridge: OnceCell<aws_sdk_eventbridge::Client>,
    /// Where delayed messages wait, found on the first delayed publish.
    route: OnceCell<DelayRoute>,
    /// Addresses found so far, from the environment or SSM.
    addresses: Mutex<Addresses>,
    /// `EVENTFN_TOPICS` and `EVENTFN_QUEUES`, read once.
    environment: std::sync::OnceLock<std::result::Result<Addresses, String>>,
    /// The stack whose SSM parameters say where things are, when given rather than read from
    /// `EVENTFN_STACK` ([`connect_stack`]).
    stack: Option<String>,
}

/// Connects this process's publishes to the deployed stack `stack` (`<app>-<stage>`) through the
/// SDK configuration `config`, rather than from the environment: what a tool that publishes
/// into a stage it was asked for does (`cargo eventfn publish --stage`). The addresses are
/// found through the stack's SSM parameters, as a deployed function finds them.
pub fn connect_stack(config: SdkConfig, stack: &str) -> Result<()> {
    let bus: &'static AwsBus = Box::leak(Box::new(AwsBus {
        config: OnceCell::new_with(Some(config)),
        stack: Some(stack.to_owned()),
        ..AwsBus::default()
    }));
    crate::publish::connect(Box::new(bus))
}

impl AwsBus {
    /// The process's one AWS bus: the bus `publish` connects on AWS, and the client the
    /// runtime's own sends (dead letters) use, so there is one configuration and one client of
    /// each service.
    pub(crate) fn shared() -> &'static AwsBus {
        static SHARED: std::sync::LazyLock<AwsBus> = std::sync::LazyLock::new(AwsBus::default);
        &SHARED
    }

    /// The stack given to [`connect_stack`], or `EVENTFN_STACK`.
    fn stack(&self) -> Option<String> {
        self.stack.clone().or_else(|| std::env::var(STACK_ENV).ok())
    }

    async fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| {
                aws_config::defaults(BehaviorVersion::latest())
                    .http_client(https_client())
                    .load()
            })
            .await
    }

    #[cfg(feature = "aws-sns")]
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

    async fn ssm(&self) -> Result<&Ssm> {
        let config = self.config().await;
        self.ssm
            .get_or_try_init(|| async {
                Ssm::new(config).map_err(|e| error(format!("cannot read SSM parameters: {e}")))
            })
            .await
    }

    #[cfg(feature = "aws-scheduler")]
    async fn scheduler(&self) -> &aws_sdk_scheduler::Client {
        let config = self.config().await;
        self.scheduler
            .get_or_init(|| async { aws_sdk_scheduler::Client::new(config) })
            .await
    }

    #[cfg(feature = "aws-eventbridge")]
    async fn eventbridge(&self) -> &aws_sdk_eventbridge::Client {
        let config = self.config().await;
        self.eventbridge
            .get_or_init(|| async { aws_sdk_eventbridge::Client::new(config) })
            .await
    }

    fn environment(&self) -> Result<&Addresses> {
        self.environment
            .get_or_init(|| {
                let mut all = HashMap::new();
                for (kind, var) in [
                    (Kind::Event, TOPICS_ENV),
                    (Kind::Queue, QUEUES_ENV),
                    (Kind::Rule, BUSES_ENV),
                ] {
                    let Ok(text) = std::env::var(var) else {
                        continue;
                    };
                    let map: HashMap<String, String> =
                        serde_json::from_str(&text).map_err(|e| {
                            format!(
                                "{var} is not a JSON object of names to addresses ({}): {}",
                                json_error(&e),
                                excerpt(&text)
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

    /// The topic ARN of an event, the queue URL of a queue, or the name EventBridge knows a bus
    /// by (`default`, a partner bus and an ARN as they are; a bus of the app's own as the
    /// template named it).
    async fn address(&self, kind: Kind, name: &str) -> Result<String> {
        if kind == Kind::Rule
            && !matches!(
                eventfn_core::Bus::parse(name),
                Ok(eventfn_core::Bus::Own(_))
            )
        {
            return Ok(name.to_owned());
        }
        let key = (kind, name.to_owned());
        if let Some(found) = self.environment()?.get(&key) {
            return Ok(found.clone());
        }
        if let Some(found) = self.addresses.lock().expect("not poisoned").get(&key) {
            return Ok(found.clone());
        }
        let (what, var, folder) = match kind {
            Kind::Queue => ("queue", QUEUES_ENV, "queues"),
            Kind::Rule => ("bus", BUSES_ENV, "buses"),
            // Messages are made only to events, queues and buses.
            Kind::Event | Kind::Schedule => ("event", TOPICS_ENV, "events"),
        };
        let Some(stack) = self.stack() else {
            return Err(error(format!(
                "unknown {what} `{name}`: it is not in {var}, and {STACK_ENV} is not set to look \
                 for it in SSM"
            )));
        };
        let parameter = format!("/{stack}/{folder}/{name}");
        let value = self.parameter(&parameter).await.map_err(|e| {
            error(format!(
                "unknown {what} `{name}`: it is not in {var}, and {e}"
            ))
        })?;
        self.addresses
            .lock()
            .expect("not poisoned")
            .insert(key, value.clone());
        Ok(value)
    }

    /// The stack's delay queue and schedule group, from `EVENTFN_DELAY` or SSM.
    async fn route(&self, kind: Kind, name: &str) -> Result<&DelayRoute> {
        self.route
            .get_or_try_init(|| async {
                let what = || format!("cannot delay {} `{name}`", kind.as_str());
                let (text, from) = match std::env::var(DELAY_ENV) {
                    Ok(text) => (text, DELAY_ENV.to_owned()),
                    Err(_) => {
                        let Some(stack) = self.stack() else {
                            return Err(error(format!(
                                "{}: {DELAY_ENV} is not set, nor {STACK_ENV} to find the stack's \
                                 delay queue in SSM; the template of `cargo eventfn build` sets \
                                 both on every function (redeploy a stack made by an older \
                                 version)",
                                what()
                            )));
                        };
                        let parameter = format!("/{stack}/{DELAY_PARAMETER}");
                        let text = self.parameter(&parameter).await.map_err(|e| {
                            error(format!(
                                "{}: {e}; redeploy the stack if an older version of eventfn made it",
                                what()
                            ))
                        })?;
                        (text, format!("SSM parameter `{parameter}`"))
                    }
                };
                serde_json::from_str(&text).map_err(|e| {
                    error(format!(
                        "{}: {from} is not the JSON of a delay route ({}): {}",
                        what(),
                        json_error(&e),
                        excerpt(&text)
                    ))
                })
            })
            .await
    }

    /// The value of an SSM parameter; the error says whether it is missing.
    async fn parameter(&self, parameter: &str) -> Result<String> {
        self.ssm()
            .await?
            .get_parameter(parameter)
            .await
            .map_err(|e| match e.as_service_error() {
                Some(e) if e.is_parameter_not_found() => {
                    error(format!("SSM parameter `{parameter}` does not exist"))
                }
                Some(e) if e.code == "NoValue" => {
                    error(format!("SSM parameter `{parameter}` has no value"))
                }
                _ => error(format!(
                    "cannot read SSM parameter `{parameter}`: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                )),
            })
    }

    /// Sends messages of one kind and name, now or, when they are delayed, to wait where AWS can
    /// hold them (see [`eventfn_core::delay`]). Messages the delay queue forwards come here
    /// again, with the time and delay they were published with: they are due, and go out now.
    async fn publish(&self, messages: Vec<Message>) -> Result<()> {
        let Some(first) = messages.first() else {
            return Ok(());
        };
        let (kind, name) = (first.kind, first.name.clone());
        // Found before anything waits, so an unknown name fails the publish, not the delivery.
        let address = self.address(kind, &name).await?;
        if kind == Kind::Rule {
            return self.put_events(&address, &name, messages).await;
        }
        let wait = match first.delay {
            0 => Wait::None,
            _ => delay::wait(first.time.saturating_add(first.delay), now_ms()),
        };
        let fifo = address.ends_with(".fifo");
        match (wait, kind) {
            (Wait::None, Kind::Queue) => self.send_sqs(&address, Some(&name), messages, None).await,
            (Wait::None, Kind::Event | Kind::Schedule | Kind::Rule) => {
                self.send_sns(&address, &name, messages).await
            }
            // SQS holds a standard queue's message itself; a FIFO queue delays only as a whole.
            (Wait::Queue(seconds), Kind::Queue) if !fifo => {
                self.send_sqs(&address, Some(&name), messages, Some(seconds))
                    .await
            }
            (Wait::Queue(seconds), _) => {
                let route = self.route(kind, &name).await?;
                let waiting = messages
                    .into_iter()
                    .map(|m| {
                        let body = delayed_body(&m);
                        Message { body, ..m }
                    })
                    .collect();
                self.send_sqs(&route.queue, None, waiting, Some(seconds))
                    .await
            }
            (Wait::Schedule(second), _) => {
                let route = self.route(kind, &name).await?;
                // One API call per message, ten at a time.
                let mut results: Vec<Result<()>> = Vec::with_capacity(messages.len());
                for chunk in messages.chunks(SCHEDULES_AT_ONCE) {
                    let mut calls = Vec::with_capacity(chunk.len());
                    for message in chunk {
                        calls.push(self.schedule(route, message, second));
                    }
                    results.extend(futures_util::future::join_all(calls).await);
                }
                let created = results.iter().filter(|r| r.is_ok()).count();
                match results.into_iter().find_map(Result::err) {
                    None => Ok(()),
                    // Those created will be delivered: a caller that sends them all again
                    // should know.
                    Some(e) if created > 0 => Err(error(format!(
                        "{e} ({created} of the {} messages were scheduled and will be \
                         delivered; sending them all again delivers those twice)",
                        messages.len()
                    ))),
                    Some(e) => Err(e),
                }
            }
        }
    }

    /// Creates the one-time schedule that sends `message` to the delay queue at `second`.
    #[cfg(not(feature = "aws-scheduler"))]
    async fn schedule(&self, _: &DelayRoute, message: &Message, _: u64) -> Result<()> {
        Err(not_linked(
            &format!(
                "cannot delay {} `{}` by {} ms",
                message.kind.as_str(),
                message.name,
                message.delay
            ),
            "EventBridge Scheduler",
            "aws-scheduler",
            "`.after(...)` delays something",
        ))
    }

    /// Creates the one-time schedule that sends `message` to the delay queue at `second`.
    #[cfg(feature = "aws-scheduler")]
    async fn schedule(&self, route: &DelayRoute, message: &Message, second: u64) -> Result<()> {
        use aws_sdk_scheduler::types::{
            ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
            RetryPolicy, Target,
        };
        let what = || {
            format!(
                "cannot delay {} `{}` by {} ms",
                message.kind.as_str(),
                message.name,
                message.delay
            )
        };
        let build = |e: aws_sdk_scheduler::error::BuildError| {
            error(format!("{}: cannot build the schedule: {e}", what()))
        };
        let expression = delay::at_expression(second)
            .ok_or_else(|| error(format!("{}: its time is out of range", what())))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(build)?;
        let target = Target::builder()
            .arn(&route.queue_arn)
            .role_arn(&route.role)
            .input(delayed_body(message))
            // The longest the scheduler keeps trying when the queue does not take it; then the
            // message goes to the delay queue's dead letters, to be listed and replayed.
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(86_400)
                    .maximum_retry_attempts(185)
                    .build(),
            )
            .set_dead_letter_config(
                route
                    .dead_letters_arn
                    .as_ref()
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()
            .map_err(build)?;
        let scheduler = self.scheduler().await;
        // The name carries 64 random bits: two messages never share one.
        let name = schedule_name(&message.name, second);
        scheduler
            .create_schedule()
            .name(&name)
            .group_name(&route.group)
            .description(format!(
                "eventfn: {} `{}`, published at {} ms, delayed {} ms",
                message.kind.as_str(),
                message.name,
                message.time,
                message.delay
            ))
            .schedule_expression(&expression)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .target(target)
            .send()
            .await
            .map_err(|e| {
                error(format!(
                    "{}: cannot create schedule `{name}` in group `{}`: {}",
                    what(),
                    route.group,
                    aws_sdk_scheduler::error::DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }

    #[cfg(not(feature = "aws-eventbridge"))]
    async fn put_events(&self, bus: &str, _: &str, messages: Vec<Message>) -> Result<()> {
        Err(not_linked(
            &format!(
                "cannot put {} event{} on bus `{}`",
                messages.len(),
                if messages.len() == 1 { "" } else { "s" },
                excerpt(bus)
            ),
            "EventBridge",
            "aws-eventbridge",
            "`put_event` or `put_events` is called",
        ))
    }

    /// Puts events on a bus (`PutEvents`), as few calls as its limits allow: ten entries and
    /// 256 KB a call. The answer is read entry by entry: an error names those EventBridge
    /// refused, with its code and message, and says how many of the rest it took.
    #[cfg(feature = "aws-eventbridge")]
    async fn put_events(&self, bus: &str, name: &str, messages: Vec<Message>) -> Result<()> {
        use aws_sdk_eventbridge::types::PutEventsRequestEntry;
        let quoted = excerpt(name);
        let client = self.eventbridge().await;
        let total = messages.len();
        let mut calls: Vec<Vec<(usize, Message)>> = Vec::new();
        let mut size = 0;
        for (index, message) in messages.into_iter().enumerate() {
            let (source, detail_type) = message
                .entry
                .as_ref()
                .map_or(("", ""), |e| (e.source.as_str(), e.detail_type.as_str()));
            let entry_size =
                eventfn_core::pattern::entry_size(source, detail_type, &message.body, &[]);
            let full = calls.last().is_none_or(|call| {
                call.len() == eventfn_core::pattern::MAX_ENTRIES
                    || size + entry_size > eventfn_core::pattern::MAX_ENTRY_BYTES
            });
            if full {
                calls.push(Vec::new());
                size = 0;
            }
            size += entry_size;
            calls
                .last_mut()
                .expect("pushed above")
                .push((index, message));
        }
        let mut put = 0;
        for call in calls {
            let entries = call
                .iter()
                .map(|(_, m)| {
                    let entry = m.entry.as_ref();
                    PutEventsRequestEntry::builder()
                        .event_bus_name(bus)
                        .source(entry.map_or("", |e| e.source.as_str()))
                        .detail_type(entry.map_or("", |e| e.detail_type.as_str()))
                        .detail(&m.body)
                        .build()
                })
                .collect();
            let answer = client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    // EventBridge's answer, when it gave one: its code and message say it all.
                    let why = match e.as_service_error().map(|s| s.meta()) {
                        Some(meta) if meta.code().is_some() => format!(
                            "{}: {}",
                            meta.code().unwrap_or_default(),
                            meta.message().unwrap_or_default()
                        ),
                        _ => aws_sdk_eventbridge::error::DisplayErrorContext(&e).to_string(),
                    };
                    error(format!(
                        "cannot put {} event{} on bus `{quoted}` ({put} of {total} put before): \
                         {why}",
                        call.len(),
                        if call.len() == 1 { "" } else { "s" },
                    ))
                })?;
            if answer.failed_entry_count() > 0 {
                let refused: Vec<String> = answer
                    .entries()
                    .iter()
                    .zip(&call)
                    .filter(|(result, _)| result.error_code().is_some())
                    .map(|(result, (index, _))| {
                        format!(
                            "event {} of {total}: {}: {}",
                            index + 1,
                            result.error_code().unwrap_or_default(),
                            excerpt(result.error_message().unwrap_or_default())
                        )
                    })
                    .collect();
                return Err(error(format!(
                    "EventBridge refused {} of the events put on bus `{quoted}` (the others of \
                     that call, and {put} before it, were put): {}",
                    answer.failed_entry_count(),
                    refused.join("; ")
                )));
            }
            put += call.len();
        }
        Ok(())
    }

    #[cfg(not(feature = "aws-sns"))]
    async fn send_sns(&self, topic: &str, name: &str, _: Vec<Message>) -> Result<()> {
        Err(not_linked(
            &format!("cannot publish `{}` to {topic}", excerpt(name)),
            "SNS",
            "aws-sns",
            "the app has an `#[event]` handler",
        ))
    }

    #[cfg(feature = "aws-sns")]
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

    /// Sends to an SQS queue, held there `delay` seconds (at most 900) when given. `name` is the
    /// app's queue, or `None` for the delay queue.
    async fn send_sqs(
        &self,
        queue: &str,
        name: Option<&str>,
        messages: Vec<Message>,
        delay: Option<u32>,
    ) -> Result<()> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let attributes = |m: &Message| sqs_attributes(&attribute_values(m));
        let sqs = self.sqs().await;
        // A FIFO queue needs a group (one per queue: its order is the publish order) and a
        // deduplication id (each send is its own message).
        let fifo = queue.ends_with(".fifo");
        let group = name.filter(|_| fifo).map(str::to_owned);
        let what = match (name, messages.first()) {
            (Some(name), _) => format!("queue `{name}`"),
            (None, Some(m)) => format!("the delay queue, for {} `{}`", m.kind.as_str(), m.name),
            (None, None) => return Ok(()),
        };
        let delay = delay.map(|seconds| seconds as i32);
        let dedup = |m: &Message| fifo.then(|| deduplication_id(m));
        if let [one] = messages.as_slice() {
            sqs.send_message()
                .queue_url(queue)
                .message_body(&one.body)
                .set_message_group_id(group.clone())
                .set_message_deduplication_id(dedup(one))
                .set_delay_seconds(delay)
                .set_message_attributes(Some(attributes(one)?))
                .send()
                .await
                .map_err(|e| {
                    error(format!(
                        "cannot send to {what} ({queue}): {}",
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
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
                        .set_delay_seconds(delay)
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
                        "cannot send to {what} ({queue}): {}",
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    ))
                })?;
            let failed = output.failed().iter();
            refused(failed.map(|f| (f.code(), f.message())), chunk.len(), &what)?;
        }
        Ok(())
    }
}

impl Bus for &'static AwsBus {
    fn send(
        &self,
        messages: Vec<Message>,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + '_>> {
        Box::pin(self.publish(messages))
    }
}

/// The error of a send that needs an SDK client this build did not link: `what` could not be
/// done, `service` is whose client, `feature` eventfn's feature that links it, and `when` says
/// when `cargo eventfn build` links it.
#[cfg(not(all(
    feature = "aws-sns",
    feature = "aws-eventbridge",
    feature = "aws-scheduler"
)))]
fn not_linked(what: &str, service: &str, feature: &str, when: &str) -> crate::Error {
    error(format!(
        "{what}: this program was built without {service}'s client (eventfn's `{feature}` \
         feature). `cargo eventfn build` links it into a Lambda artifact when {when}; another \
         program that publishes into a stage turns on eventfn's `aws` feature, which links every \
         client"
    ))
}

/// The attributes every message carries, read back on delivery: (key, data type, value).
fn attribute_values(message: &Message) -> [(&'static str, &'static str, String); 3] {
    [
        (NAME_ATTRIBUTE, "String", message.name.clone()),
        (TIME_ATTRIBUTE, "Number", message.time.to_string()),
        (DELAY_ATTRIBUTE, "Number", message.delay.to_string()),
    ]
}

/// SQS message attributes from (key, data type, value).
fn sqs_attributes(
    attributes: &[(&str, &str, String)],
) -> Result<HashMap<String, aws_sdk_sqs::types::MessageAttributeValue>> {
    attributes
        .iter()
        .map(|(key, data_type, value)| {
            let value = aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type(*data_type)
                .string_value(value)
                .build()
                .map_err(|e| error(format!("cannot build an SQS message attribute: {e}")))?;
            Ok(((*key).to_owned(), value))
        })
        .collect()
}

impl AwsBus {
    /// Sends a message that failed its last attempt to the function's dead-letter queue, with
    /// `attributes` (key, data type, value) saying why; `group` for a FIFO queue. `id` is the
    /// message's, which makes the deduplication id of a FIFO queue: a retried send is not kept
    /// twice.
    pub(crate) async fn send_dead_letter(
        &self,
        queue: &str,
        body: String,
        attributes: &[(&str, &str, String)],
        group: Option<String>,
        id: &str,
    ) -> Result<()> {
        let fifo = group.is_some();
        self.sqs()
            .await
            .send_message()
            .queue_url(queue)
            .message_body(body)
            .set_message_attributes(Some(sqs_attributes(attributes)?))
            .set_message_group_id(group)
            .set_message_deduplication_id(fifo.then(|| format!("dead-{id}")))
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_sqs::error::ProvideErrorMetadata;
                let why = match e.as_service_error() {
                    Some(refused) => format!(
                        "{}: {}",
                        refused.code().unwrap_or("refused"),
                        refused.message().unwrap_or_default()
                    ),
                    None => aws_sdk_sqs::error::DisplayErrorContext(&e).to_string(),
                };
                error(format!(
                    "cannot send to the dead-letter queue {queue}: {why}"
                ))
            })?;
        Ok(())
    }
}

/// What waits in the delay queue or a schedule for `message`: a [`delay::Delayed`], its payload
/// written as it is (a payload is JSON already, and SQS takes the envelope's few hundred bytes
/// more within the room kept for attributes).
fn delayed_body(message: &Message) -> String {
    let header = delay::DelayedHeader {
        kind: message.kind,
        name: message.name.clone(),
        time: message.time,
        delay: message.delay,
    };
    let header = serde_json::to_string(&header).expect("a header serializes");
    format!(r#"{{"eventfn":{header},"payload":{}}}"#, message.body)
}

/// A schedule's name: the message's name as far as schedule names allow (letters, digits,
/// `-`, `_`, `.`), the second it is due, and 64 random bits, 64 characters at most.
#[cfg(any(feature = "aws-scheduler", test))]
fn schedule_name(name: &str, second: u64) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    // `RandomState` is seeded from the operating system's randomness for each process; hashing a
    // sequence number and the time with it gives ids no other process or call repeats, without a
    // random-number crate.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(SEQUENCE.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let kept: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .take(25)
        .collect();
    format!("{kept}-{second}-{:016x}", hasher.finish())
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

    /// No AWS over HTTPS here: a listener on loopback reads what the client sends first, which is
    /// a TLS handshake record (0x16) when an `https` endpoint is spoken to with TLS.
    #[test]
    fn the_sdk_clients_speak_tls_to_an_https_endpoint() {
        use std::io::Read as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut first = [0u8; 1];
            stream.read_exact(&mut first).unwrap();
            first[0]
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sent = runtime.block_on(async {
            let config = aws_config::defaults(BehaviorVersion::latest())
                .http_client(https_client())
                .endpoint_url(format!("https://127.0.0.1:{port}"))
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                    "test", "test", None, None, "test",
                ))
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .load()
                .await;
            aws_sdk_sqs::Client::new(&config).list_queues().send().await
        });
        assert!(sent.is_err(), "no TLS server there, yet: {sent:?}");
        assert_eq!(server.join().unwrap(), 0x16, "a TLS handshake record");
    }

    fn message(bytes: usize) -> Message {
        Message::new(Kind::Event, "e", &"x".repeat(bytes)).unwrap()
    }

    #[test]
    fn a_delayed_message_waits_as_an_envelope_that_keeps_its_payload_as_it_was() {
        let mut delayed = message(3);
        delayed.body = r#"{"n":1e2}"#.to_owned();
        delayed.time = 1_795_514_400_000;
        delayed.delay = 300_000;
        let body = delayed_body(&delayed);
        assert_eq!(
            body,
            r#"{"eventfn":{"kind":"event","name":"e","time":1795514400000,"delay":300000},"payload":{"n":1e2}}"#
        );
        let read: delay::Delayed<&serde_json::value::RawValue> =
            serde_json::from_str(&body).unwrap();
        assert_eq!(read.payload.get(), delayed.body);
        // The largest payload still fits in an SQS message, envelope and attributes included.
        let mut largest = message(crate::publish::MAX_PAYLOAD_BYTES - 2);
        largest.name = "n".repeat(240);
        assert!(delayed_body(&largest).len() + 600 < 256 * 1024);
    }

    #[test]
    fn schedule_names_are_valid_and_never_repeat() {
        let names: std::collections::HashSet<String> = (0..1000)
            .map(|_| {
                schedule_name(
                    "order.placed/ünïcode and a very long name indeed",
                    1795514400,
                )
            })
            .collect();
        assert_eq!(names.len(), 1000);
        for name in &names {
            assert!(name.len() <= 64, "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                "{name}"
            );
            assert!(
                name.starts_with("order.placed__n_code_and_-1795514400-"),
                "{name}"
            );
        }
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
