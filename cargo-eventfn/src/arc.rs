//! `app.arc`: the app in Architect's manifest format, so Architect's tools (and people who know
//! them) can read it: its events, queues and schedules by name. Options (a queue's `fifo` and
//! batch size among them) live in `eventfn.json`: Architect reads them from per-function
//! `config.arc` files, not from `app.arc`, and ignores settings written under `@queues`. So do
//! event filters, which Architect has no notion of: they are in `eventfn.json` and the template,
//! as are a schedule's time zone and flexible window. One-time schedules (`at(...)`), which
//! Architect's `@scheduled` does not take, are left out.

use eventfn_core::{Kind, Manifest};
use std::fmt::Write as _;

pub fn render(manifest: &Manifest) -> String {
    let mut out = String::new();
    out.push_str("# Written by `cargo eventfn build` from the handlers compiled into the app.\n");
    out.push_str("# Every handler, with its options, is in eventfn.json beside this file.\n");
    let _ = writeln!(out, "@app\n{}", manifest.app);

    let events = manifest.names(Kind::Event);
    if !events.is_empty() {
        out.push_str("\n@events\n");
        for name in events {
            let _ = writeln!(out, "{name}");
        }
    }

    let queues = manifest.names(Kind::Queue);
    if !queues.is_empty() {
        out.push_str("\n@queues\n");
        for name in queues {
            let _ = writeln!(out, "{name}");
        }
    }

    let schedules: Vec<_> = manifest
        .of_kind(Kind::Schedule)
        .filter(|s| !s.schedule.as_deref().unwrap_or_default().starts_with("at("))
        .collect();
    if !schedules.is_empty() {
        out.push_str("\n@scheduled\n");
        for schedule in schedules {
            let _ = writeln!(
                out,
                "{} {}",
                schedule.name,
                schedule.schedule.as_deref().unwrap_or_default()
            );
        }
    }
    out
}
