//! CloudFormation logical IDs for an app's resources, derived from its names.
//!
//! A logical ID holds letters and digits only, so a name's punctuation goes and each of its parts
//! starts with a capital: `account-signup`, `account_signup` and `accountSignup` all become
//! `AccountSignup`. Each kind of resource has a prefix of its own (`Event`, `Queue`, `Schedule`,
//! `Handler`), so only names of one kind can meet; two that do would be one resource in the
//! template, and the build refuses them ([`collisions`]), naming both. IDs depend on nothing but
//! the name, so they stay the same from one deploy to the next.

use crate::Kind;
use crate::record::Registration;

/// `account-signup` → `AccountSignup`; `thumbnails.v2` → `ThumbnailsV2`.
pub fn logical_id(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

/// The ID of a handler, from its Rust path without the crate: `welcome::send_welcome` →
/// `SendWelcome`, `app::jobs::run` → `JobsRun`.
pub fn function_id(function: &str) -> String {
    let path = function.split_once("::").map_or(function, |(_, rest)| rest);
    logical_id(path)
}

/// The prefixed ID of what a registration declares: `EventAccountSignup`, `QueueThumbnails`,
/// `ScheduleNightly`; and `Handler...` for its function.
pub fn resource_id(kind: Kind, name: &str) -> String {
    let prefix = match kind {
        Kind::Event => "Event",
        Kind::Queue => "Queue",
        Kind::Schedule => "Schedule",
        Kind::Rule => "Rule",
    };
    format!("{prefix}{}", logical_id(name))
}

/// The ID of a bus of the app: `BusBudgets`.
pub fn bus_id(name: &str) -> String {
    format!("Bus{}", logical_id(name))
}

/// The handler's prefixed ID: `HandlerSendWelcome`.
pub fn handler_id(function: &str) -> String {
    format!("Handler{}", function_id(function))
}

/// Names of one kind (or handlers) that would share a logical ID, compared without regard to
/// case, as the message for each pair says.
pub fn collisions(registrations: &[Registration]) -> Vec<String> {
    let mut found = Vec::new();
    for (i, a) in registrations.iter().enumerate() {
        for b in &registrations[i + 1..] {
            if a.kind == b.kind && a.name != b.name {
                let id = resource_id(a.kind, &a.name);
                if id.eq_ignore_ascii_case(&resource_id(b.kind, &b.name)) {
                    found.push(format!(
                        "{} names `{}` (at {}) and `{}` (at {}) both become the CloudFormation \
                         logical ID `{id}`: names that differ only in punctuation or case cannot \
                         be told apart in the template; rename one",
                        a.kind.as_str(),
                        a.name,
                        a.source(),
                        b.name,
                        b.source()
                    ));
                }
            }
            // Two buses of the app's own, named by two rules.
            if let (Some(x), Some(y)) = (a.bus.as_deref(), b.bus.as_deref())
                && x != y
                && bus_id(x).eq_ignore_ascii_case(&bus_id(y))
                && [x, y].iter().all(|bus| {
                    matches!(
                        crate::pattern::Bus::parse(bus),
                        Ok(crate::pattern::Bus::Own(_))
                    )
                })
            {
                found.push(format!(
                    "buses `{x}` (of the rule at {}) and `{y}` (of the rule at {}) both become the \
                     CloudFormation logical ID `{}`: names that differ only in punctuation or \
                     case cannot be told apart in the template; rename one",
                    a.source(),
                    b.source(),
                    bus_id(x)
                ));
            }
            if a.function != b.function {
                let id = handler_id(&a.function);
                if id.eq_ignore_ascii_case(&handler_id(&b.function)) {
                    found.push(format!(
                        "handlers `{}` (at {}) and `{}` (at {}) both become the CloudFormation \
                         logical ID `{id}`: rename one",
                        a.function,
                        a.source(),
                        b.function,
                        b.source()
                    ));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(kind: &str, name: &str, function: &str, line: u32) -> Registration {
        Registration::parse(
            format!(
                r#"{{"v":1,"kind":"{kind}","name":"{name}","payload":null,"context":false,"options":{{}},"function":"{function}","file":"src/main.rs","line":{line},"column":1}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn ids_are_the_names_parts_capitalised() {
        assert_eq!(logical_id("account-signup"), "AccountSignup");
        assert_eq!(logical_id("account_signup"), "AccountSignup");
        assert_eq!(logical_id("accountSignup"), "AccountSignup");
        assert_eq!(logical_id("order.placed.v2"), "OrderPlacedV2");
        assert_eq!(function_id("welcome::send_welcome"), "SendWelcome");
        assert_eq!(function_id("app::jobs::run"), "JobsRun");
        assert_eq!(resource_id(Kind::Queue, "thumbnails"), "QueueThumbnails");
        assert_eq!(handler_id("welcome::audit"), "HandlerAudit");
    }

    #[test]
    fn names_of_one_kind_that_meet_are_refused_naming_both() {
        let regs = [
            registration("event", "account-signup", "app::a", 3),
            registration("event", "account_signup", "app::b", 9),
            registration("event", "account-signup", "app::c", 12),
            // Another kind may share the words: its prefix differs.
            registration("queue", "account-signup", "app::d", 15),
            registration("event", "ACCOUNT-SIGNUP", "app::e", 20),
        ];
        let found = collisions(&regs);
        assert!(
            found[0].starts_with(
                "event names `account-signup` (at src/main.rs:3:1) and `account_signup` (at \
                 src/main.rs:9:1) both become the CloudFormation logical ID `EventAccountSignup`"
            ),
            "{found:#?}"
        );
        // a–b, a–e, b–c, b–e, c–e: every pair of different names.
        assert_eq!(found.len(), 5, "{found:#?}");

        let handlers = [
            registration("event", "x", "app::send_welcome", 1),
            registration("event", "y", "app::send::welcome", 2),
        ];
        let found = collisions(&handlers);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("`HandlerSendWelcome`"), "{found:#?}");
    }

    #[test]
    fn buses_that_would_share_an_id_are_named_with_both_rules() {
        let rule = |bus: &str, function: &str, line: u32| {
            Registration::parse(
                format!(
                    r#"{{"v":1,"kind":"rule","name":"{function}","bus":"{bus}","pattern":{{"source":["x"]}},"payload":null,"context":false,"options":{{}},"function":"app::{function}","file":"src/main.rs","line":{line},"column":1}}"#
                )
                .as_bytes(),
            )
            .unwrap()
        };
        assert_eq!(
            collisions(&[rule("order-bus", "one", 3), rule("order_bus", "two", 9)]),
            [
                "buses `order-bus` (of the rule at src/main.rs:3:1) and `order_bus` (of the rule \
              at src/main.rs:9:1) both become the CloudFormation logical ID `BusOrderBus`: names \
              that differ only in punctuation or case cannot be told apart in the template; \
              rename one"
            ]
        );
        // The same bus twice is one bus; `default` and ARNs are not the app's to make.
        assert!(collisions(&[rule("orders", "one", 3), rule("orders", "two", 9)]).is_empty());
    }
}
