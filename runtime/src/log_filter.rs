//! `RUST_LOG`, read as `tracing_subscriber`'s [`Targets`]: a level (`info`), and a level per
//! target (`my_app=debug,aws_smithy_runtime=warn`), comma-separated.
//!
//! `EnvFilter` reads these and more (span and field filters, `[span{field=value}]=trace`), but it
//! needs the regex crates, which were a third of what eventfn added to a function's artifact
//! beyond a hand-written one, and some 20 s of a clean build. A function's log is filtered by
//! target and level; span and field filters are refused by name rather than silently widened.

use tracing_subscriber::filter::{LevelFilter, Targets};

/// The filter `directives` make, with `default` as the level of whatever no directive names when
/// they name no level of their own (`RUST_LOG` unset or empty, or every directive refused). Each
/// directive is read on its own: one it cannot read is left out, and returned with why, for the
/// caller to log once a subscriber is there.
pub(crate) fn targets(directives: &str, default: LevelFilter) -> (Targets, Vec<String>) {
    let mut filter = Targets::new();
    let mut refused = Vec::new();
    let mut any = false;
    for directive in split(directives).filter(|d| !d.is_empty()) {
        if directive.contains(['[', ']', '{', '}']) {
            refused.push(format!(
                "`{directive}`: span and field filters are not supported, only `target=level`"
            ));
            continue;
        }
        match directive.parse::<Targets>() {
            Ok(parsed) => {
                any = true;
                if let Some(level) = parsed.default_level() {
                    filter = filter.with_default(level);
                }
                for (target, level) in parsed.iter() {
                    filter = filter.with_target(target, level);
                }
            }
            Err(error) => refused.push(format!("`{directive}`: {error}")),
        }
    }
    if !any {
        filter = filter.with_default(default);
    }
    (filter, refused)
}

/// The directives of `text`: split at commas, but not at those inside a span's brackets or a
/// field list's braces (`[s{a,b}]=trace` is one directive), trimmed.
fn split(text: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0_i32;
    let mut start = 0;
    let mut parts = Vec::new();
    for (at, c) in text.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth <= 0 => {
                parts.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().map(str::trim)
}

/// Says on stderr which directives were left out: not through `tracing`, whose filter is the
/// very one they are missing from (and may let no warning through).
pub(crate) fn warn_refused(refused: &[String]) {
    for why in refused {
        eprintln!("eventfn: RUST_LOG: {why}; left out of the log's filter");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn allows(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn a_level_and_levels_per_target_are_read() {
        let (filter, refused) = targets("warn, my_app=debug,my_app::db=trace", LevelFilter::INFO);
        assert!(refused.is_empty(), "{refused:?}");
        assert!(allows(&filter, "other", Level::WARN));
        assert!(!allows(&filter, "other", Level::INFO));
        assert!(allows(&filter, "my_app", Level::DEBUG));
        assert!(!allows(&filter, "my_app", Level::TRACE));
        assert!(allows(&filter, "my_app::db::pool", Level::TRACE));
    }

    #[test]
    fn directives_are_the_whole_filter_and_the_default_stands_in_for_none() {
        // As with `EnvFilter`: a target named alone leaves the rest out.
        let (filter, _) = targets("my_app=debug", LevelFilter::INFO);
        assert!(!allows(&filter, "other", Level::ERROR));
        for empty in ["", " , "] {
            let (filter, refused) = targets(empty, LevelFilter::WARN);
            assert!(refused.is_empty());
            assert!(allows(&filter, "any", Level::WARN));
            assert!(!allows(&filter, "any", Level::INFO));
        }
    }

    #[test]
    fn what_cannot_be_read_is_refused_by_name_and_the_rest_kept() {
        let (filter, refused) = targets(
            "my_app=loud,[invoke]=trace,my_app{id=1}=debug,other=debug",
            LevelFilter::INFO,
        );
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(refused[0].starts_with("`my_app=loud`: "), "{refused:?}");
        assert_eq!(
            refused[1],
            "`[invoke]=trace`: span and field filters are not supported, only `target=level`"
        );
        assert!(allows(&filter, "other", Level::DEBUG));
        assert!(!allows(&filter, "my_app", Level::ERROR));
        // A field list's commas do not split its directive.
        let (filter, refused) = targets("[s{a,b}]=trace,other=warn", LevelFilter::INFO);
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(refused[0].starts_with("`[s{a,b}]=trace`: "), "{refused:?}");
        assert!(allows(&filter, "other", Level::WARN));
        assert!(!allows(&filter, "other", Level::INFO));
        // Nothing read: the default level.
        let (filter, refused) = targets("[x]=trace", LevelFilter::INFO);
        assert_eq!(refused.len(), 1);
        assert!(allows(&filter, "any", Level::INFO));
    }
}
