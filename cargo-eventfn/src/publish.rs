//! `publish --stage NAME`: an event, a queue job or an event on a bus, sent into a deployed stage
//! by the runtime's own publishing (`eventfn::aws`), as a handler of that stage sends it: the
//! topic, queue or bus found through the stack's SSM parameters, a delay through its delay queue
//! or schedule group.

use std::time::Duration;

use anyhow::{Result, anyhow};
use eventfn_core::Kind;
use eventfn_core::sandbox::OutgoingMessage;
use serde_json::value::RawValue;

use crate::dead::{Stage, open_stack};
use crate::deploy::runtime;

/// Sends `message` into stage `name`: where it went, said as `into stage ...`.
pub fn publish(stage: &Stage, name: &str, message: OutgoingMessage) -> Result<String> {
    runtime()?.block_on(async {
        let (session, stack) = open_stack(stage, name).await?;
        eventfn::aws::connect_stack(session.config.clone(), &stack).map_err(|e| anyhow!("{e}"))?;
        let what = match message.kind {
            Kind::Queue => format!("queue `{}`", message.name),
            Kind::Rule => format!("bus `{}`", message.name),
            Kind::Event | Kind::Schedule => format!("event `{}`", message.name),
        };
        // Sent as written: a raw value keeps the payload's keys and numbers as they were.
        let body = RawValue::from_string(message.body)
            .map_err(|e| anyhow!("cannot send to {what}: the payload is not JSON: {e}"))?;
        let wait = (message.delay > 0).then(|| Duration::from_millis(message.delay));
        let sent = match message.kind {
            Kind::Rule => {
                eventfn::put_event(
                    &message.name,
                    message.detail_type.as_deref().unwrap_or_default(),
                    &body,
                )
                .source(
                    message
                        .source
                        .as_deref()
                        .unwrap_or(eventfn_core::pattern::DEFAULT_SOURCE),
                )
                .await
            }
            Kind::Queue => {
                let job = eventfn::enqueue(&message.name, &body);
                match wait {
                    Some(wait) => job.after(wait).await,
                    None => job.await,
                }
            }
            Kind::Event | Kind::Schedule => {
                let event = eventfn::publish(&message.name, &body);
                match wait {
                    Some(wait) => event.after(wait).await,
                    None => event.await,
                }
            }
        };
        sent.map_err(|e| {
            anyhow!(
                "stage `{name}` (stack `{stack}`, account {}, {}): {e}",
                session.account,
                session.endpoint_name()
            )
        })?;
        Ok(format!(
            "into stage `{name}` (stack `{stack}`, account {}, {})",
            session.account,
            session.endpoint_name()
        ))
    })
}
