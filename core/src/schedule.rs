//! Schedule expressions: EventBridge's `rate(...)` and 6-field `cron(...)`, and EventBridge
//! Scheduler's one-time `at(...)`.
//!
//! The rules are EventBridge's own (which Architect enforces too), so an expression that passes
//! here is accepted by an EventBridge rule and by Architect's `@scheduled`:
//!
//! - `rate(N unit)`: `N` a positive integer; the unit is `minute`, `hour` or `day` when `N` is 1
//!   and `minutes`, `hours` or `days` otherwise.
//! - `cron(minutes hours day-of-month month day-of-week year)`: each field a `*`, a value, a range
//!   `a-b`, a step `*/n`, `a/n` or `a-b/n` (not in day-of-week), or a comma-separated list of
//!   those; months may be
//!   `JAN`..`DEC` and days of the week `SUN`..`SAT` (1 is Sunday); the day-of-month field also
//!   takes `L` (last day), `LW` and `nW` (the weekday nearest day n); the day-of-week field takes
//!   `L`, `nL` (the last weekday n of the month) and `n#k` (the k-th weekday n). Exactly one of
//!   day-of-month and day-of-week is `?`.
//! - `at(yyyy-mm-ddThh:mm:ss)`: once, at that wall-clock time in the schedule's time zone (UTC
//!   without one), a valid date and time. That it lies ahead is checked by `cargo eventfn build`,
//!   not here: code outlives dates.

use std::fmt;

/// A validated schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `rate(value unit)`.
    Rate {
        /// How many units between firings: 1 or more.
        value: u64,
        /// The unit, singular when `value` is 1 and plural otherwise.
        unit: RateUnit,
    },
    /// `cron(...)`, its six fields as written.
    Cron {
        /// Minutes, hours, day-of-month, month, day-of-week and year.
        fields: [String; 6],
    },
    /// `at(...)`: once, at this wall-clock time in the schedule's time zone.
    At {
        /// The date and time, to the second.
        at: chrono::NaiveDateTime,
    },
}

/// The form of an `at(...)` time, as EventBridge Scheduler writes it.
const AT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// The unit of a `rate(...)` expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    /// `minute` or `minutes`: 60 seconds.
    Minute,
    /// `hour` or `hours`: 3600 seconds.
    Hour,
    /// `day` or `days`: 86400 seconds.
    Day,
}

impl RateUnit {
    /// Seconds in one unit.
    pub fn seconds(self) -> u64 {
        match self {
            RateUnit::Minute => 60,
            RateUnit::Hour => 3_600,
            RateUnit::Day => 86_400,
        }
    }

    fn word(self, plural: bool) -> &'static str {
        match (self, plural) {
            (RateUnit::Minute, false) => "minute",
            (RateUnit::Minute, true) => "minutes",
            (RateUnit::Hour, false) => "hour",
            (RateUnit::Hour, true) => "hours",
            (RateUnit::Day, false) => "day",
            (RateUnit::Day, true) => "days",
        }
    }
}

impl Schedule {
    /// Parses and validates an expression; the error says what is wrong and how it should read.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        if let Some(inner) = strip_call(expr, "rate") {
            parse_rate(inner)
        } else if let Some(inner) = strip_call(expr, "cron") {
            parse_cron(inner)
        } else if let Some(inner) = strip_call(expr, "at") {
            parse_at(inner)
        } else {
            Err(format!(
                "`{expr}` is not a schedule expression: write `rate(1 day)`, `rate(5 minutes)`, a \
                 6-field `cron(0 12 * * ? *)` or a one-time `at(2026-12-31T23:00:00)`"
            ))
        }
    }

    /// For a rate, the period in seconds.
    pub fn period_seconds(&self) -> Option<u64> {
        match self {
            Schedule::Rate { value, unit } => Some(value.saturating_mul(unit.seconds())),
            Schedule::Cron { .. } | Schedule::At { .. } => None,
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Rate { value, unit } => write!(f, "rate({value} {})", unit.word(*value != 1)),
            Schedule::Cron { fields } => write!(f, "cron({})", fields.join(" ")),
            Schedule::At { at } => write!(f, "at({})", at.format(AT_FORMAT)),
        }
    }
}

fn strip_call<'a>(expr: &'a str, name: &str) -> Option<&'a str> {
    expr.strip_prefix(name)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

fn parse_at(inner: &str) -> Result<Schedule, String> {
    let usage = "a date and time to the second, like `at(2026-12-31T23:00:00)`";
    // Exactly `yyyy-mm-ddThh:mm:ss`: chrono would also take a longer year or a short field.
    let shape = inner.len() == 19
        && inner.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return Err(format!("`at({inner})` is not {usage}"));
    }
    let at = chrono::NaiveDateTime::parse_from_str(inner, AT_FORMAT).map_err(|_| {
        format!("`at({inner})` is no such date and time (check the day of the month and the hour)")
    })?;
    Ok(Schedule::At { at })
}

fn parse_rate(inner: &str) -> Result<Schedule, String> {
    let (value, unit) = inner.split_once(' ').ok_or_else(|| {
        format!("`rate({inner})` needs a value and a unit separated by one space, like `rate(5 minutes)`")
    })?;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "rate value `{value}` is not a positive whole number, as in `rate(5 minutes)`"
        ));
    }
    let value: u64 = value
        .parse()
        .map_err(|_| format!("rate value `{value}` is too large"))?;
    if value == 0 {
        return Err("rate value must be greater than zero".to_owned());
    }
    let unit_of = |word: &str| match word {
        "minute" | "minutes" => Some(RateUnit::Minute),
        "hour" | "hours" => Some(RateUnit::Hour),
        "day" | "days" => Some(RateUnit::Day),
        _ => None,
    };
    let parsed = unit_of(unit).ok_or_else(|| {
        format!("rate unit `{unit}` is not one of `minute(s)`, `hour(s)`, `day(s)`")
    })?;
    let expected = parsed.word(value != 1);
    if unit != expected {
        return Err(format!(
            "`rate({value} {unit})` must be written `rate({value} {expected})`: the unit is singular \
             when the value is 1 and plural otherwise"
        ));
    }
    Ok(Schedule::Rate {
        value,
        unit: parsed,
    })
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names standing for `min`, `min + 1`, ...
    names: &'static [&'static str],
}

const FIELDS: [Field; 6] = [
    Field {
        name: "minutes",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hours",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
    },
    Field {
        name: "day-of-week",
        min: 1,
        max: 7,
        names: &WEEKDAYS,
    },
    Field {
        name: "year",
        min: 1970,
        max: 2199,
        names: &[],
    },
];
const DAY_OF_MONTH: usize = 2;
const DAY_OF_WEEK: usize = 4;

fn parse_cron(inner: &str) -> Result<Schedule, String> {
    let parts: Vec<&str> = inner.split_whitespace().collect();
    if parts.len() != 6 {
        return Err(format!(
            "`cron({inner})` has {} field{}: EventBridge cron expressions have 6 (minutes hours \
             day-of-month month day-of-week year), like `cron(0 12 * * ? *)`",
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        ));
    }
    for (i, (part, field)) in parts.iter().zip(&FIELDS).enumerate() {
        if *part == "?" {
            if i != DAY_OF_MONTH && i != DAY_OF_WEEK {
                return Err(format!(
                    "`?` in the {} field: only day-of-month and day-of-week take `?`",
                    field.name
                ));
            }
            continue;
        }
        check_field(part, field, i)?;
    }
    match (parts[DAY_OF_MONTH] == "?", parts[DAY_OF_WEEK] == "?") {
        (true, false) | (false, true) => {}
        (true, true) => {
            return Err(
                "both day-of-month and day-of-week are `?`: exactly one of them must be `?`"
                    .to_owned(),
            );
        }
        (false, false) => {
            return Err(format!(
                "day-of-month `{}` and day-of-week `{}` are both set: exactly one of them must be \
                 `?`, as in `cron(0 12 * * ? *)`",
                parts[DAY_OF_MONTH], parts[DAY_OF_WEEK]
            ));
        }
    }
    Ok(Schedule::Cron {
        fields: std::array::from_fn(|i| parts[i].to_owned()),
    })
}

fn check_field(part: &str, field: &Field, index: usize) -> Result<(), String> {
    // The special forms stand alone in their field.
    if index == DAY_OF_MONTH {
        if part == "L" || part == "LW" {
            return Ok(());
        }
        if let Some(day) = part.strip_suffix('W') {
            return value(day, field).map(drop);
        }
    }
    if index == DAY_OF_WEEK {
        if part == "L" {
            return Ok(());
        }
        if let Some(day) = part.strip_suffix('L') {
            return value(day, field).map(drop);
        }
        if let Some((day, nth)) = part.split_once('#') {
            value(day, field)?;
            return match nth.parse::<u32>() {
                Ok(1..=5) => Ok(()),
                _ => Err(format!(
                    "`{part}` in the day-of-week field: after `#` comes the week of the month, 1 to 5"
                )),
            };
        }
    }
    for item in part.split(',') {
        check_item(item, field).map_err(|why| {
            if part.contains(',') {
                format!("{why} (in `{part}`)")
            } else {
                why
            }
        })?;
    }
    Ok(())
}

fn check_item(item: &str, field: &Field) -> Result<(), String> {
    if item.is_empty() {
        return Err(format!("empty list element in the {} field", field.name));
    }
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    if let Some(step) = step {
        if field.name == "day-of-week" {
            return Err(format!(
                "`{item}` in the day-of-week field: EventBridge takes no `/` steps there; list the days, like `MON,WED,FRI`"
            ));
        }
        match step.parse::<u32>() {
            Ok(n) if n >= 1 && n <= field.max => {}
            _ => {
                return Err(format!(
                    "step `{step}` in the {} field `{item}` must be a whole number from 1 to {}",
                    field.name, field.max
                ));
            }
        }
    }
    if range == "*" {
        return Ok(());
    }
    match range.split_once('-') {
        Some((from, to)) => {
            value(from, field)?;
            value(to, field)?;
        }
        None => {
            value(range, field)?;
        }
    }
    Ok(())
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    if let Some(i) = field
        .names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
    {
        return Ok(field.min + i as u32);
    }
    let names = if field.names.is_empty() {
        String::new()
    } else {
        format!(
            " or {}-{}",
            field.names[0],
            field.names[field.names.len() - 1]
        )
    };
    match text.parse::<u32>() {
        Ok(n)
            if (field.min..=field.max).contains(&n) && text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(n)
        }
        _ => Err(format!(
            "`{text}` is not valid in the {} field: expected {}-{}{names}",
            field.name, field.min, field.max
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(expr: &str) -> String {
        Schedule::parse(expr).expect_err(expr)
    }

    #[test]
    fn one_time_schedules() {
        let at = Schedule::parse("at(2026-12-31T23:00:00)").unwrap();
        assert_eq!(at.to_string(), "at(2026-12-31T23:00:00)");
        assert_eq!(at.period_seconds(), None);
        assert!(err("at(2026-02-30T10:00:00)").contains("no such date and time"));
        assert!(err("at(2026-12-31T24:00:00)").contains("no such date and time"));
        assert!(err("at(2026-12-31 23:00:00)").contains("is not a date and time to the second"));
        assert!(err("at(2026-12-31T23:00)").contains("is not a date and time to the second"));
        assert!(err("at(tomorrow)").contains("like `at(2026-12-31T23:00:00)`"));
        assert!(err("every day").contains("one-time `at(2026-12-31T23:00:00)`"));
    }

    #[test]
    fn rates() {
        assert_eq!(
            Schedule::parse("rate(1 day)").unwrap().period_seconds(),
            Some(86_400)
        );
        assert_eq!(
            Schedule::parse("rate(5 minutes)").unwrap().to_string(),
            "rate(5 minutes)"
        );
        assert_eq!(
            Schedule::parse("rate(2 hours)").unwrap().period_seconds(),
            Some(7_200)
        );
        assert!(err("rate(1 days)").contains("must be written `rate(1 day)`"));
        assert!(err("rate(2 day)").contains("must be written `rate(2 days)`"));
        assert!(err("rate(0 minutes)").contains("greater than zero"));
        assert!(err("rate(-1 minutes)").contains("not a positive whole number"));
        assert!(err("rate(1.5 hours)").contains("not a positive whole number"));
        assert!(err("rate(5 weeks)").contains("`weeks` is not one of"));
        assert!(err("rate(5minutes)").contains("separated by one space"));
        assert!(err("rate(99999999999999999999 days)").contains("too large"));
        let huge = Schedule::parse("rate(1000000000000000000 days)").unwrap();
        assert_eq!(huge.period_seconds(), Some(u64::MAX));
        assert!(err("every day").contains("not a schedule expression"));
        assert!(err("Rate(1 day)").contains("not a schedule expression"));
    }

    #[test]
    fn crons_from_the_eventbridge_docs() {
        for ok in [
            "cron(0 10 * * ? *)",
            "cron(15 12 * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 8 1 * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0/10 * ? * MON-FRI *)",
            "cron(0/5 8-17 ? * MON-FRI *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 12 L * ? *)",
            "cron(0 12 LW * ? *)",
            "cron(0 12 15W * ? *)",
            "cron(0 12 ? * 6L *)",
            "cron(0 12 ? * L *)",
            "cron(0,15,30,45 * * JAN,jul ? 2030-2040)",
            "cron(*/5 1-10/2 * * ? *)",
        ] {
            let parsed = Schedule::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(parsed.to_string(), ok);
        }
    }

    #[test]
    fn cron_errors_name_the_field() {
        assert!(err("cron(0 12 * * *)").contains("has 5 fields"));
        assert!(err("cron(0 12 * * ? * *)").contains("has 7 fields"));
        assert!(err("cron(60 12 * * ? *)").contains("`60` is not valid in the minutes field"));
        assert!(err("cron(0 24 * * ? *)").contains("hours field"));
        assert!(err("cron(0 12 0 * ? *)").contains("day-of-month field"));
        assert!(err("cron(0 12 * 13 ? *)").contains("expected 1-12 or JAN-DEC"));
        assert!(err("cron(0 12 * FOO ? *)").contains("`FOO`"));
        assert!(err("cron(0 12 ? * 8 *)").contains("expected 1-7 or SUN-SAT"));
        assert!(err("cron(0 12 * * ? 1969)").contains("year field"));
        assert!(err("cron(0 12 * * * *)").contains("exactly one of them must be `?`"));
        assert!(err("cron(0 12 ? * ? *)").contains("both day-of-month and day-of-week"));
        assert!(err("cron(? 12 * * ? *)").contains("only day-of-month and day-of-week"));
        assert!(err("cron(0/0 * * * ? *)").contains("step `0`"));
        assert!(err("cron(0/x * * * ? *)").contains("step `x`"));
        assert!(err("cron(0 12 ? * */2 *)").contains("no `/` steps there"));
        assert!(err("cron(0 12 ? * MON-FRI/2 *)").contains("`MON-FRI/2` in the day-of-week field"));
        assert!(err("cron(0,,5 * * * ? *)").contains("empty list element"));
        assert!(err("cron(0 12 ? * 2#6 *)").contains("week of the month"));
        assert!(err("cron(0 12 32W * ? *)").contains("`32`"));
        assert!(err("cron(0 12 * * L *)").contains("both set"));
        assert!(err("cron(+5 12 * * ? *)").contains("`+5`"));
    }
}
