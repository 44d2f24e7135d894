//! Ampt's `after`: how long a delayed publish waits before it is delivered.
//!
//! An `after` is one of
//! - a number of milliseconds to wait (`300000`);
//! - a Unix timestamp in milliseconds to deliver at (`1795514400000`): a number from
//!   1,000,000,000,000 (September 2001) up is a timestamp, since a delay of a year is 3.2e10 ms;
//! - a UTC date and time in RFC 3339 form (`"2026-11-24T17:46:05.811Z"`);
//! - a count and a unit (`"5 minutes"`, `"1 day"`): seconds, minutes, hours, days, weeks, months
//!   or years, singular or plural, months and years counted on the UTC calendar.
//!
//! It must lie in the future, at most one year (twelve calendar months) ahead.

use chrono::{DateTime, Months, TimeDelta, Utc};

/// Numbers from here up are timestamps, below it delays.
const FIRST_TIMESTAMP_MS: u64 = 1_000_000_000_000;

/// What an `after` looks like, for error messages.
const FORMS: &str = "a number of milliseconds, a Unix timestamp in milliseconds, a UTC time like \
                     `2026-01-14T17:46:05.811Z`, or a count and unit like `5 minutes` or `1 day`";

/// The delay in milliseconds that `after` asks for, read at `now_ms` (milliseconds since the Unix
/// epoch); the error says what is wrong with it.
pub fn parse_after(after: &str, now_ms: u64) -> Result<u64, String> {
    let text = after.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let number = text
            .parse::<u64>()
            .map_err(|_| format!("`after` is `{after}`, too large a number"))?;
        return after_ms(number, now_ms);
    }
    let now = at(now_ms)?;
    let when = if let Some((count, unit)) = split_count(text) {
        let count: u32 = count
            .parse()
            .map_err(|_| format!("`after` is `{after}`: `{count}` is too large a count"))?;
        add(now, count, unit).ok_or_else(|| {
            if unit_of(unit).is_none() {
                format!(
                    "`after` is `{after}`: `{unit}` is not a unit; use seconds, minutes, hours, \
                     days, weeks, months or years"
                )
            } else {
                format!("`after` is `{after}`, more than one year ahead")
            }
        })?
    } else {
        DateTime::parse_from_rfc3339(text)
            .map_err(|_| format!("`after` is `{after}`, which is not {FORMS}"))?
            .with_timezone(&Utc)
    };
    delay_until(now, when, after)
}

/// The delay in milliseconds that a numeric `after` asks for: a delay, or a timestamp (see the
/// module's docs).
pub fn after_ms(number: u64, now_ms: u64) -> Result<u64, String> {
    if number >= FIRST_TIMESTAMP_MS {
        let when = at(number)?;
        return delay_until(at(now_ms)?, when, &number.to_string());
    }
    let now = at(now_ms)?;
    let when = now
        .checked_add_signed(TimeDelta::milliseconds(number as i64))
        .ok_or_else(|| format!("`after` is {number} ms, more than one year ahead"))?;
    delay_until(now, when, &format!("{number} ms"))
}

fn at(ms: u64) -> Result<DateTime<Utc>, String> {
    i64::try_from(ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| format!("{ms} ms after the Unix epoch is out of range"))
}

fn delay_until(now: DateTime<Utc>, when: DateTime<Utc>, after: &str) -> Result<u64, String> {
    let delay = (when - now).num_milliseconds();
    if delay <= 0 {
        return Err(format!(
            "`after` is `{after}`, which is not in the future: a delay must be more than zero"
        ));
    }
    let limit = now + Months::new(12);
    if when > limit {
        return Err(format!(
            "`after` is `{after}`, more than one year ahead (the latest is {})",
            limit.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ));
    }
    Ok(delay as u64)
}

/// `"5 minutes"` → (`5`, `minutes`); also without the space.
fn split_count(text: &str) -> Option<(&str, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (count, unit) = text.split_at(digits);
    let unit = unit.trim_start();
    (digits > 0 && !unit.is_empty() && unit.bytes().all(|b| b.is_ascii_alphabetic()))
        .then_some((count, unit))
}

enum Unit {
    Millis(i64),
    Months(u32),
}

fn unit_of(unit: &str) -> Option<Unit> {
    let singular = unit.strip_suffix('s').unwrap_or(unit);
    Some(match singular.to_ascii_lowercase().as_str() {
        "second" => Unit::Millis(1_000),
        "minute" => Unit::Millis(60_000),
        "hour" => Unit::Millis(3_600_000),
        "day" => Unit::Millis(86_400_000),
        "week" => Unit::Millis(604_800_000),
        "month" => Unit::Months(1),
        "year" => Unit::Months(12),
        _ => return None,
    })
}

fn add(now: DateTime<Utc>, count: u32, unit: &str) -> Option<DateTime<Utc>> {
    match unit_of(unit)? {
        Unit::Millis(ms) => {
            now.checked_add_signed(TimeDelta::try_milliseconds(ms.checked_mul(count.into())?)?)
        }
        Unit::Months(months) => now.checked_add_months(Months::new(months.checked_mul(count)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-24T10:00:00Z.
    const NOW: u64 = 1_795_514_400_000;
    const DAY: u64 = 86_400_000;

    #[test]
    fn every_form_of_after() {
        let cases: &[(&str, u64)] = &[
            ("300000", 300_000),
            ("1", 1),
            ("5 minutes", 300_000),
            ("1 minute", 60_000),
            ("1 day", DAY),
            ("1 days", DAY),
            ("2 weeks", 14 * DAY),
            ("30 seconds", 30_000),
            ("  3 hours ", 3 * 3_600_000),
            ("1day", DAY),
            // From 24 November: December has 31 days, so one month is 30 days ahead.
            ("1 month", 30 * DAY),
            ("1 year", 365 * DAY),
            ("12 months", 365 * DAY),
            ("2026-11-24T10:00:01.500Z", 1_500),
            ("1795514460000", 60_000),
        ];
        for &(after, expected) in cases {
            assert_eq!(parse_after(after, NOW), Ok(expected), "{after}");
        }
        assert_eq!(after_ms(1_795_514_460_000, NOW), Ok(60_000));
        assert_eq!(after_ms(250, NOW), Ok(250));
    }

    #[test]
    fn an_offset_is_converted_to_utc() {
        assert_eq!(parse_after("2026-11-24T12:00:00+01:00", NOW), Ok(3_600_000));
    }

    #[test]
    fn zero_past_and_far_futures_are_refused() {
        let error = |after: &str| parse_after(after, NOW).unwrap_err();
        assert!(error("0").contains("not in the future"), "{}", error("0"));
        assert!(error("0 minutes").contains("not in the future"));
        assert!(error("2026-11-24T09:00:00Z").contains("not in the future"));
        assert!(error("1795514400000").contains("not in the future"));
        assert!(
            error("13 months")
                .contains("more than one year ahead (the latest is 2027-11-24T10:00:00.000Z)"),
            "{}",
            error("13 months")
        );
        assert!(error("2 years").contains("more than one year ahead"));
        assert!(error("366 days").contains("more than one year ahead"));
        assert!(error("99999999999").contains("more than one year ahead"));
        assert!(error("4294967296 years").contains("too large a count"));
        assert!(error("99999999999999999999999").contains("too large a number"));
    }

    #[test]
    fn what_is_not_an_after_says_what_is() {
        for bad in [
            "",
            "soon",
            "5 fortnights",
            "-5",
            "5.5 minutes",
            "minutes",
            "2026-13-01",
        ] {
            let error = parse_after(bad, NOW).unwrap_err();
            assert!(error.starts_with(&format!("`after` is `{bad}`")), "{error}");
        }
        assert!(
            parse_after("5 fortnights", NOW)
                .unwrap_err()
                .contains("`fortnights` is not a unit")
        );
        assert!(
            parse_after("soon", NOW)
                .unwrap_err()
                .contains("a count and unit like")
        );
    }
}
