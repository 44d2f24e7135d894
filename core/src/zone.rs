//! A schedule's time zone and flexible window, as EventBridge Scheduler takes them.
//!
//! - `timezone`: an IANA time zone name (`Europe/Amsterdam`, `America/New_York`, `UTC`), checked
//!   against the IANA database that `chrono-tz` carries; a misspelt one is refused with the
//!   closest name. Scheduler evaluates a schedule's expression in its zone
//!   (`ScheduleExpressionTimezone`), UTC without one.
//! - `flexible_window`: how late Scheduler may start the target after the time the expression
//!   names (`FlexibleTimeWindow`), from 1 minute to 1440 (24 hours), written as a count and a
//!   unit: `"15 minutes"`, `"1 hour"`.
//!
//! Across a daylight-saving change, Scheduler skips a time that a cron expression names in the
//! hour the clocks jump over, and runs a time in the hour they repeat once (the first): see
//! [`local_to_utc`].

use std::str::FromStr as _;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;

/// The longest flexible window Scheduler takes, in minutes.
pub const MAX_WINDOW_MINUTES: u32 = 1440;

/// The zone named `name`; the error says what is wrong and names the closest zone.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    if let Ok(zone) = Tz::from_str(name) {
        return Ok(zone);
    }
    let lower = name.to_ascii_lowercase();
    if let Some(zone) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|z| z.name().to_ascii_lowercase() == lower)
    {
        return Err(format!(
            "unknown time zone `{name}`: zone names are case-sensitive; did you mean `{}`?",
            zone.name()
        ));
    }
    let closest = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| {
            (
                strsim::jaro_winkler(&lower, &z.name().to_ascii_lowercase()),
                z.name(),
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    Err(match closest {
        Some((score, zone)) if score > 0.8 => {
            format!("unknown time zone `{name}`: did you mean `{zone}`? Zones are IANA names")
        }
        _ => format!(
            "unknown time zone `{name}`: expected an IANA time zone name like `Europe/Amsterdam`, \
             `America/New_York` or `UTC`"
        ),
    })
}

/// A flexible window written as a count and a unit (`"15 minutes"`, `"1 hour"`), in minutes.
pub fn parse_window(text: &str) -> Result<u32, String> {
    let usage = "a count and a unit from 1 minute to 24 hours, like `15 minutes` or `1 hour`";
    let (count, unit) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("flexible window `{text}` is not {usage}"))?;
    let count: u32 = count.parse().map_err(|_| {
        format!("flexible window `{text}`: `{count}` is not a whole number; {usage}")
    })?;
    let per = match unit {
        "minute" | "minutes" => 1,
        "hour" | "hours" => 60,
        _ => {
            return Err(format!(
                "flexible window `{text}`: `{unit}` is not `minutes` or `hours`; {usage}"
            ));
        }
    };
    let minutes = count.saturating_mul(per);
    if !(1..=MAX_WINDOW_MINUTES).contains(&minutes) {
        return Err(format!(
            "flexible window `{text}` is {minutes} minutes: EventBridge Scheduler takes 1 to \
             {MAX_WINDOW_MINUTES} (24 hours)"
        ));
    }
    Ok(minutes)
}

/// The instant of the wall-clock time `local` in `zone`, as Scheduler reads it across a
/// daylight-saving change: `None` for a time the clocks skip (the spring change: Scheduler
/// skips the firing), the earlier instant for a time they repeat (the autumn change: it fires
/// once).
pub fn local_to_utc(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(time) => Some(time.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => Some(first.min(second).with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_are_zones_and_misspellings_are_told_the_closest() {
        assert_eq!(
            parse_timezone("Europe/Amsterdam").unwrap().name(),
            "Europe/Amsterdam"
        );
        assert_eq!(parse_timezone("UTC").unwrap().name(), "UTC");
        let err = parse_timezone("Europe/Amsterdm").unwrap_err();
        assert!(err.contains("did you mean `Europe/Amsterdam`?"), "{err}");
        let err = parse_timezone("europe/paris").unwrap_err();
        assert!(
            err.contains("case-sensitive; did you mean `Europe/Paris`?"),
            "{err}"
        );
        let err = parse_timezone("Mars/Olympus").unwrap_err();
        assert!(err.contains("expected an IANA time zone name"), "{err}");
    }

    #[test]
    fn windows_are_whole_minutes_up_to_a_day() {
        assert_eq!(parse_window("15 minutes"), Ok(15));
        assert_eq!(parse_window("1 minute"), Ok(1));
        assert_eq!(parse_window("2 hours"), Ok(120));
        assert_eq!(parse_window("24 hours"), Ok(1440));
        for (bad, says) in [
            ("0 minutes", "is 0 minutes"),
            ("25 hours", "is 1500 minutes"),
            ("soon", "is not a count and a unit"),
            ("5 days", "`days` is not `minutes` or `hours`"),
            ("1.5 hours", "`1.5` is not a whole number"),
        ] {
            let err = parse_window(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn daylight_saving_changes_read_as_scheduler_reads_them() {
        let amsterdam = parse_timezone("Europe/Amsterdam").unwrap();
        let local = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap();
        // 28 March 2027: 02:00 becomes 03:00; 02:30 does not exist.
        assert_eq!(local_to_utc(amsterdam, local("2027-03-28T02:30:00")), None);
        // 31 October 2027: 03:00 becomes 02:00 again; 02:30 is first in summer time.
        assert_eq!(
            local_to_utc(amsterdam, local("2027-10-31T02:30:00"))
                .unwrap()
                .to_rfc3339(),
            "2027-10-31T00:30:00+00:00"
        );
        assert_eq!(
            local_to_utc(amsterdam, local("2027-11-01T02:30:00"))
                .unwrap()
                .to_rfc3339(),
            "2027-11-01T01:30:00+00:00"
        );
    }
}
