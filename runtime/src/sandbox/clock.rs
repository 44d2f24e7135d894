//! When schedules fire in the sandbox, as EventBridge Scheduler fires them: `rate(...)` every
//! period from the sandbox's start, `cron(...)` at the times it names and `at(...)` once, both
//! read in the schedule's time zone (UTC without one).
//!
//! Across a daylight-saving change a cron time the clocks skip does not fire, and one they repeat
//! fires once, the first time ([`eventfn_core::zone::local_to_utc`]): the cron expression is
//! evaluated on the zone's wall clock, and each wall-clock time then placed on the timeline.
//!
//! Cron expressions are evaluated by `croner`, configured for EventBridge's dialect: a required year
//! field (after a seconds field of `0`, as croner wants), and Quartz weekdays (1 is Sunday, `SUN`..`SAT`), with `L`, `W`
//! and `#`, and steps from a value (`0/15`). EventBridge makes one of day-of-month and day-of-week `?`, which croner reads as `*`.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use eventfn_core::Schedule;
use eventfn_core::zone::{local_to_utc, parse_timezone};

/// A schedule's clock.
#[derive(Debug)]
pub enum Clock {
    /// Every `period` milliseconds.
    Rate {
        /// The rate's period, in milliseconds.
        period: u64,
    },
    /// At the times a `cron(...)` expression names on the wall clock of `zone`.
    Cron {
        /// The expression, in croner's form.
        cron: Box<Cron>,
        /// The zone whose wall clock it reads.
        zone: Tz,
    },
    /// Once, at this time (milliseconds since the Unix epoch); `None` when the wall-clock time
    /// it names does not exist in its zone.
    At(Option<u64>),
}

/// How many wall-clock times a cron search passes over before it gives up: the times that fall
/// in a daylight-saving gap, at most a few in a row.
const SKIPPED_TIMES: usize = 64;

impl Clock {
    /// The clock of `expression`, as checked by [`Schedule::parse`], read in `timezone` (an IANA
    /// name; UTC when `None`).
    pub fn new(expression: &str, timezone: Option<&str>) -> Result<Clock, String> {
        let schedule = Schedule::parse(expression)?;
        let zone = match timezone {
            Some(name) => parse_timezone(name)?,
            None => Tz::UTC,
        };
        if let Some(seconds) = schedule.period_seconds() {
            return Ok(Clock::Rate {
                period: seconds.saturating_mul(1000),
            });
        }
        let fields = match schedule {
            Schedule::Cron { fields } => fields,
            Schedule::At { at } => {
                return Ok(Clock::At(
                    local_to_utc(zone, at).and_then(|t| u64::try_from(t.timestamp_millis()).ok()),
                ));
            }
            Schedule::Rate { .. } => unreachable!("a rate has a period"),
        };
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Required)
            .alternative_weekdays(true)
            // EventBridge's `0/15` (from 0, every 15).
            .sloppy_ranges(true)
            .build()
            // croner takes a year only after a seconds field: EventBridge fires at second 0.
            .parse(&format!("0 {}", fields.join(" ")))
            .map_err(|e| format!("`{expression}`: {e}"))?;
        Ok(Clock::Cron {
            cron: Box::new(cron),
            zone,
        })
    }

    /// The first time after `after` (milliseconds since the Unix epoch) that it fires, for a rate
    /// counted from `start`; `None` if it never fires again (a cron whose years are past).
    pub fn next(&self, start: u64, after: u64) -> Option<u64> {
        match self {
            Clock::Rate { period } => {
                let period = (*period).max(1);
                let elapsed = after.saturating_sub(start);
                // A period longer than the calendar can hold never comes round.
                (elapsed / period + 1)
                    .checked_mul(period)
                    .and_then(|since| start.checked_add(since))
            }
            Clock::Cron { cron, zone } => {
                let after: DateTime<Utc> = Utc.timestamp_millis_opt(after as i64).single()?;
                // The zone's wall clock, run as if it were UTC: croner steps through its times.
                let mut wall = Utc.from_utc_datetime(&after.with_timezone(zone).naive_local());
                for _ in 0..SKIPPED_TIMES {
                    wall = cron.find_next_occurrence(&wall, false).ok()?;
                    match local_to_utc(*zone, wall.naive_utc()) {
                        // A repeated hour's second pass maps before `after`: already fired.
                        Some(instant) if instant > after => {
                            return u64::try_from(instant.timestamp_millis()).ok();
                        }
                        _ => {}
                    }
                }
                None
            }
            Clock::At(at) => at.filter(|at| *at > after),
        }
    }
}

/// `time` (milliseconds since the Unix epoch) as the schedule's zone reads it and in UTC:
/// `2027-10-31 02:30 CEST (Europe/Amsterdam), 00:30 UTC`; in UTC alone without a zone.
pub fn describe(time: u64, timezone: Option<&str>) -> String {
    let Some(utc) = Utc.timestamp_millis_opt(time as i64).single() else {
        return format!("{time} ms");
    };
    let in_utc = utc.format("%Y-%m-%d %H:%M UTC").to_string();
    match timezone.and_then(|name| parse_timezone(name).ok()) {
        Some(zone) if zone != Tz::UTC => format!(
            "{} ({}), {}",
            utc.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z"),
            zone.name(),
            utc.format("%H:%M UTC")
        ),
        _ => in_utc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> u64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis() as u64
    }

    #[test]
    fn a_rate_fires_every_period_from_the_start() {
        let clock = Clock::new("rate(5 minutes)", Some("Europe/Amsterdam")).unwrap();
        assert_eq!(clock.next(1_000, 1_000), Some(301_000));
        assert_eq!(clock.next(1_000, 300_999), Some(301_000));
        assert_eq!(clock.next(1_000, 301_000), Some(601_000));
        let day = Clock::new("rate(1 day)", None).unwrap();
        assert_eq!(day.next(0, 0), Some(86_400_000));
        let never = Clock::new("rate(1000000000000000000 days)", None).unwrap();
        assert_eq!(never.next(1_000, 1_000), None);
    }

    #[test]
    fn cron_reads_eventbridge_fields() {
        // 12:00 UTC on weekdays: from Saturday 2026-11-28, the next is Monday.
        let noon = Clock::new("cron(0 12 ? * MON-FRI *)", None).unwrap();
        assert_eq!(
            noon.next(0, at("2026-11-28T09:00:00Z")),
            Some(at("2026-11-30T12:00:00Z"))
        );
        // Quartz weekdays: 1 is Sunday.
        let sunday = Clock::new("cron(30 6 ? * 1 *)", None).unwrap();
        assert_eq!(
            sunday.next(0, at("2026-11-24T00:00:00Z")),
            Some(at("2026-11-29T06:30:00Z"))
        );
        // The last day of the month, and the year field.
        let last = Clock::new("cron(0 0 L * ? 2027)", None).unwrap();
        assert_eq!(
            last.next(0, at("2026-11-24T00:00:00Z")),
            Some(at("2027-01-31T00:00:00Z"))
        );
        // Every 15 minutes, and the second Tuesday of the month.
        let quarter = Clock::new("cron(0/15 * * * ? *)", None).unwrap();
        assert_eq!(
            quarter.next(0, at("2026-11-24T10:07:00Z")),
            Some(at("2026-11-24T10:15:00Z"))
        );
        let second_tuesday = Clock::new("cron(0 9 ? * 3#2 *)", None).unwrap();
        assert_eq!(
            second_tuesday.next(0, at("2026-11-24T00:00:00Z")),
            Some(at("2026-12-08T09:00:00Z"))
        );
        // Years that are past never fire again.
        let past = Clock::new("cron(0 0 1 1 ? 1999-2000)", None).unwrap();
        assert_eq!(past.next(0, at("2026-11-24T00:00:00Z")), None);
    }

    /// Every firing of `clock` from `from` until `to`.
    fn firings(clock: &Clock, from: &str, to: &str) -> Vec<String> {
        let (mut after, end) = (at(from), at(to));
        let mut fired = Vec::new();
        while let Some(next) = clock.next(0, after).filter(|n| *n < end) {
            fired.push(describe(next, Some("Europe/Amsterdam")));
            after = next;
        }
        fired
    }

    /// A 02:30 daily job in Amsterdam, across both daylight-saving changes of 2027, as
    /// EventBridge Scheduler documents them: the spring change skips 02:30 (the clocks go from
    /// 02:00 to 03:00), the autumn change runs it once (02:30 comes twice, first in summer time).
    #[test]
    fn a_daily_job_in_a_zone_follows_its_clocks_across_daylight_saving() {
        let clock = Clock::new("cron(30 2 * * ? *)", Some("Europe/Amsterdam")).unwrap();
        assert_eq!(
            firings(&clock, "2027-03-26T12:00:00Z", "2027-03-29T12:00:00Z"),
            [
                "2027-03-27 02:30 CET (Europe/Amsterdam), 01:30 UTC",
                // 28 March: no 02:30.
                "2027-03-29 02:30 CEST (Europe/Amsterdam), 00:30 UTC",
            ]
        );
        assert_eq!(
            firings(&clock, "2027-10-29T12:00:00Z", "2027-11-01T12:00:00Z"),
            [
                "2027-10-30 02:30 CEST (Europe/Amsterdam), 00:30 UTC",
                "2027-10-31 02:30 CEST (Europe/Amsterdam), 00:30 UTC",
                "2027-11-01 02:30 CET (Europe/Amsterdam), 01:30 UTC",
            ]
        );
        // From inside the repeated hour, after the first 02:30: not again that night.
        assert_eq!(
            firings(&clock, "2027-10-31T01:00:00Z", "2027-11-01T12:00:00Z"),
            ["2027-11-01 02:30 CET (Europe/Amsterdam), 01:30 UTC"]
        );
        // 09:00 on weekdays stays at 09:00 on the wall clock, an hour apart in UTC.
        let nine = Clock::new("cron(0 9 ? * MON-FRI *)", Some("Europe/Amsterdam")).unwrap();
        assert_eq!(
            nine.next(0, at("2027-03-26T09:00:00Z")),
            Some(at("2027-03-29T07:00:00Z"))
        );
        assert_eq!(
            nine.next(0, at("2027-03-25T00:00:00Z")),
            Some(at("2027-03-25T08:00:00Z"))
        );
    }

    #[test]
    fn a_one_time_schedule_fires_once_at_its_time_in_its_zone() {
        let once = Clock::new("at(2027-01-15T09:00:00)", Some("Europe/Amsterdam")).unwrap();
        assert_eq!(
            once.next(0, at("2027-01-01T00:00:00Z")),
            Some(at("2027-01-15T08:00:00Z"))
        );
        assert_eq!(once.next(0, at("2027-01-15T08:00:00Z")), None);
        let utc = Clock::new("at(2027-01-15T09:00:00)", None).unwrap();
        assert_eq!(
            utc.next(0, at("2027-01-01T00:00:00Z")),
            Some(at("2027-01-15T09:00:00Z"))
        );
        // A time the clocks skip never comes.
        let gap = Clock::new("at(2027-03-28T02:30:00)", Some("Europe/Amsterdam")).unwrap();
        assert_eq!(gap.next(0, at("2027-01-01T00:00:00Z")), None);
        assert_eq!(
            describe(at("2027-01-15T09:00:00Z"), None),
            "2027-01-15 09:00 UTC"
        );
    }
}
