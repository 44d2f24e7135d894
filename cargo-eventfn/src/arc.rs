//! `app.arc`: the app in Architect's manifest format, so Architect's tools (and people who know
//! them) can read it. Handler options other than a queue's `fifo` and `batchSize` live in
//! `eventfn.json`; Architect keeps them in per-function `config.arc` files.

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

    let queues: Vec<_> = manifest.of_kind(Kind::Queue).collect();
    if !queues.is_empty() {
        out.push_str("\n@queues\n");
        for queue in queues {
            let _ = writeln!(out, "{}", queue.name);
            // Architect's queues are FIFO unless told otherwise; say it either way.
            let _ = writeln!(out, "  fifo {}", queue.options.fifo.unwrap_or(false));
            if let Some(batch_size) = queue.options.batch_size {
                let _ = writeln!(out, "  batchSize {batch_size}");
            }
        }
    }

    let schedules: Vec<_> = manifest.of_kind(Kind::Schedule).collect();
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
