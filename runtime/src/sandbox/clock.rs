//! When schedules fire in the sandbox: `rate(...)` every period from the sandbox's start, as an
//! EventBridge rule does from its creation, and `cron(...)` at the times it names, in UTC.
//!
//! Cron expressions are evaluated by `croner`, configured for EventBridge's dialect: a required year
//! field (after a seconds field of `0`, as croner wants), and Quartz weekdays (1 is Sunday, `SUN`..`SAT`), with `L`, `W`
//! and `#`, and steps from a value (`0/15`). EventBridge makes one of day-of-month and day-of-week `?`, which croner reads as `*`.

use chrono::{DateTime, TimeZone, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use eventfn_core::Schedule;

/// A schedule's clock.
#[derive(Debug)]
pub enum Clock {
    /// Every `period` milliseconds.
    Rate {
        /// The rate's period, in milliseconds.
        period: u64,
    },
    /// At the times a `cron(...)` expression names, in UTC.
    Cron(Box<Cron>),
}

impl Clock {
    /// The clock of `expression`, as checked by [`Schedule::parse`].
    pub fn new(expression: &str) -> Result<Clock, String> {
        let schedule = Schedule::parse(expression)?;
        if let Some(seconds) = schedule.period_seconds() {
            return Ok(Clock::Rate {
                period: seconds.saturating_mul(1000),
            });
        }
        let Schedule::Cron { fields } = schedule else {
            unreachable!("a schedule without a period is a cron expression");
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
        Ok(Clock::Cron(Box::new(cron)))
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
            Clock::Cron(cron) => {
                let after: DateTime<Utc> = Utc.timestamp_millis_opt(after as i64).single()?;
                let next = cron.find_next_occurrence(&after, false).ok()?;
                u64::try_from(next.timestamp_millis()).ok()
            }
        }
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
        let clock = Clock::new("rate(5 minutes)").unwrap();
        assert_eq!(clock.next(1_000, 1_000), Some(301_000));
        assert_eq!(clock.next(1_000, 300_999), Some(301_000));
        assert_eq!(clock.next(1_000, 301_000), Some(601_000));
        let day = Clock::new("rate(1 day)").unwrap();
        assert_eq!(day.next(0, 0), Some(86_400_000));
        let never = Clock::new("rate(1000000000000000000 days)").unwrap();
        assert_eq!(never.next(1_000, 1_000), None);
    }

    #[test]
    fn cron_reads_eventbridge_fields() {
        // 12:00 UTC on weekdays: from Saturday 2026-11-28, the next is Monday.
        let noon = Clock::new("cron(0 12 ? * MON-FRI *)").unwrap();
        assert_eq!(
            noon.next(0, at("2026-11-28T09:00:00Z")),
            Some(at("2026-11-30T12:00:00Z"))
        );
        // Quartz weekdays: 1 is Sunday.
        let sunday = Clock::new("cron(30 6 ? * 1 *)").unwrap();
        assert_eq!(
            sunday.next(0, at("2026-11-24T00:00:00Z")),
            Some(at("2026-11-29T06:30:00Z"))
        );
        // The last day of the month, and the year field.
        let last = Clock::new("cron(0 0 L * ? 2027)").unwrap();
        assert_eq!(
            last.next(0, at("2026-11-24T00:00:00Z")),
            Some(at("2027-01-31T00:00:00Z"))
        );
        // Every 15 minutes, and the second Tuesday of the month.
        let quarter = Clock::new("cron(0/15 * * * ? *)").unwrap();
        assert_eq!(
            quarter.next(0, at("2026-11-24T10:07:00Z")),
            Some(at("2026-11-24T10:15:00Z"))
        );
        let second_tuesday = Clock::new("cron(0 9 ? * 3#2 *)").unwrap();
        assert_eq!(
            second_tuesday.next(0, at("2026-11-24T00:00:00Z")),
            Some(at("2026-12-08T09:00:00Z"))
        );
        // Years that are past never fire again.
        let past = Clock::new("cron(0 0 1 1 ? 1999-2000)").unwrap();
        assert_eq!(past.next(0, at("2026-11-24T00:00:00Z")), None);
    }
}
