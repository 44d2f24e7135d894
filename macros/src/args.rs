//! Parses and checks an attribute's arguments: the name or schedule expression, then options.

use eventfn_core::options::{
    check_batch_size, check_concurrency, check_memory, check_retries, parse_timeout,
};
use eventfn_core::record::DeclaredOptions;
use eventfn_core::{Bus, EventPattern, FilterPolicy, Kind, OptionKey, Schedule, validate_name};
use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, ExprLit, Lit, LitStr, Token, UnOp};

use crate::errors::Errors;

/// What an attribute declares, once checked.
pub struct Args {
    /// Event or queue name; for a schedule, its `name` option if given and valid.
    pub name: Option<String>,
    /// Whether a schedule was given a `name = ...` option (valid or not).
    pub name_option: bool,
    /// A schedule's expression, normalized.
    pub schedule: Option<String>,
    /// An event's filter policy, checked.
    pub filter: Option<serde_json::Value>,
    /// A rule's bus, checked.
    pub bus: Option<String>,
    /// A rule's event pattern, checked.
    pub pattern: Option<serde_json::Value>,
    /// A schedule's time zone, checked.
    pub timezone: Option<String>,
    /// A schedule's flexible window, in minutes.
    pub flexible_window: Option<u32>,
    pub options: DeclaredOptions,
}

/// One argument as written. Values are parsed as expressions, so that a constant or a negative
/// number is reported on its own tokens and the other arguments are still checked.
enum Arg {
    Positional(Expr),
    Named { key: syn::Ident, value: Expr },
}

fn parse_arg(input: ParseStream) -> syn::Result<Arg> {
    if input.peek(syn::Ident::peek_any) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
        let key: syn::Ident = input.call(syn::Ident::parse_any)?;
        input.parse::<Token![=]>()?;
        let value = input
            .parse::<Expr>()
            .map_err(|e| syn::Error::new(e.span(), must_be_literal(&key)))?;
        return Ok(Arg::Named { key, value });
    }
    Ok(Arg::Positional(input.parse()?))
}

/// The literal an argument is, if it is one.
fn literal(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(ExprLit { attrs, lit }) if attrs.is_empty() => Some(lit),
        // A `$value:literal` passed through `macro_rules!` arrives in an invisible group.
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

/// Whether an argument is a negative number, like `-1`: syn reads it as an expression.
fn is_negative_number(expr: &Expr) -> bool {
    match expr {
        Expr::Unary(unary) => {
            matches!(unary.op, UnOp::Neg(_))
                && matches!(literal(&unary.expr), Some(Lit::Int(_) | Lit::Float(_)))
        }
        _ => false,
    }
}

fn must_be_literal(key: &syn::Ident) -> String {
    format!(
        "the value of `{key}` must be a literal, like `{key} = {}`: an attribute cannot read constants or expressions",
        example(key)
    )
}

fn example(key: &syn::Ident) -> &'static str {
    match OptionKey::parse(&key.to_string()) {
        Some(OptionKey::Timeout) => "\"10s\"",
        Some(OptionKey::Retries) => "3",
        Some(OptionKey::Memory) => "512",
        Some(OptionKey::Concurrency) => "5",
        Some(OptionKey::BatchSize) => "10",
        Some(OptionKey::Fifo) => "true",
        Some(OptionKey::Name) => "\"nightly\"",
        Some(OptionKey::Filter) => "r#\"{\"country\": [\"NL\"]}\"#",
        Some(OptionKey::Bus) => "\"default\"",
        Some(OptionKey::Pattern) => "r#\"{\"source\": [\"aws.s3\"]}\"#",
        Some(OptionKey::Timezone) => "\"Europe/Amsterdam\"",
        Some(OptionKey::FlexibleWindow) => "\"15 minutes\"",
        None => "\"...\"",
    }
}

/// What an option's value must be, for a value of the wrong type.
fn expected(option: OptionKey, key: &syn::Ident) -> String {
    match option {
        OptionKey::Timeout
        | OptionKey::Name
        | OptionKey::Filter
        | OptionKey::Bus
        | OptionKey::Pattern
        | OptionKey::Timezone
        | OptionKey::FlexibleWindow => {
            format!("`{key}` takes a string, like `{key} = {}`", example(key))
        }
        OptionKey::Retries | OptionKey::Memory | OptionKey::Concurrency | OptionKey::BatchSize => {
            format!(
                "`{key}` takes a whole number, like `{key} = {}`",
                example(key)
            )
        }
        OptionKey::Fifo => "`fifo` takes `true` or `false`".to_owned(),
    }
}

pub fn parse(kind: Kind, tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args {
        name: None,
        name_option: false,
        schedule: None,
        filter: None,
        bus: None,
        pattern: None,
        timezone: None,
        flexible_window: None,
        options: DeclaredOptions::default(),
    };
    let parser = |input: ParseStream| {
        let mut list = Vec::new();
        while !input.is_empty() {
            list.push(parse_arg(input)?);
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!(
                        "expected `,`: {} takes one string, then options as `key = value`, separated by commas",
                        kind.attribute()
                    ),
                )
            })?;
        }
        Ok(list)
    };
    let list = match parser.parse2(tokens) {
        Ok(list) => list,
        Err(e) => {
            errors.push(e);
            return args;
        }
    };
    let mut items = list.into_iter().peekable();
    if kind == Kind::Rule {
        // Options only: a rule is its bus and its pattern, both named.
        if let Some(Arg::Positional(first)) = items.next_if(|a| matches!(a, Arg::Positional(_))) {
            errors.spanned(&first, format!("#[rule] takes options only, {RULE_USAGE}"));
        }
    } else {
        match items.next_if(|a| matches!(a, Arg::Positional(_))) {
            Some(Arg::Positional(first)) => match literal(&first) {
                Some(Lit::Str(lit)) => first_argument(kind, lit, &mut args, errors),
                Some(other) => errors.at(other, not_a_string(kind, false)),
                None => errors.spanned(&first, not_a_string(kind, true)),
            },
            _ => errors.at(Span::call_site(), what_first(kind)),
        }
    }

    let mut seen: Vec<OptionKey> = Vec::new();
    let mut batch_size: Option<(u64, Lit)> = None;
    for item in items {
        let (key, value) = match item {
            Arg::Named { key, value } => (key, value),
            Arg::Positional(extra) => {
                errors.spanned(
                    &extra,
                    format!(
                        "unexpected argument: {} takes one string, then options as `key = value`",
                        kind.attribute()
                    ),
                );
                continue;
            }
        };
        let Some(option) = OptionKey::parse(&key.to_string()) else {
            errors.at(
                &key,
                format!(
                    "unknown option `{key}` for {}: expected one of {}",
                    kind.attribute(),
                    OptionKey::list_for(kind)
                ),
            );
            continue;
        };
        if seen.contains(&option) {
            errors.at(&key, format!("option `{key}` is given twice"));
            continue;
        }
        seen.push(option);
        if !option.applies_to(kind) {
            let only = match option {
                OptionKey::Name => "`name` applies only to #[schedule] and #[rule]: events and queues are named by the first argument".to_owned(),
                OptionKey::Bus | OptionKey::Pattern => format!(
                    "`{key}` applies only to #[rule]: {} is not fed by an EventBridge bus",
                    kind.attribute()
                ),
                OptionKey::Filter => format!(
                    "`filter` applies only to #[event]: {} has no subscription to filter",
                    kind.attribute()
                ),
                OptionKey::Timezone | OptionKey::FlexibleWindow => format!(
                    "`{key}` applies only to #[schedule]: {} does not fire on a clock",
                    kind.attribute()
                ),
                _ => format!("`{key}` applies only to #[queue]"),
            };
            errors.at(&key, only);
            continue;
        }
        if option == OptionKey::Name {
            args.name_option = true;
        }
        let Some(value) = literal(&value) else {
            if is_negative_number(&value) {
                errors.spanned(&value, expected(option, &key));
            } else {
                errors.spanned(&value, must_be_literal(&key));
            }
            continue;
        };
        let result = match option {
            OptionKey::Timeout => string(value, option, &key)
                .and_then(|s| parse_timeout(&s).map_err(|e| syn::Error::new(value.span(), e)))
                .map(|t| args.options.timeout = Some(t)),
            OptionKey::Retries => {
                integer(value, option, &key, check_retries).map(|n| args.options.retries = Some(n))
            }
            OptionKey::Memory => {
                integer(value, option, &key, check_memory).map(|n| args.options.memory = Some(n))
            }
            OptionKey::Concurrency => integer(value, option, &key, check_concurrency)
                .map(|n| args.options.concurrency = Some(n)),
            OptionKey::BatchSize => integer(value, option, &key, |n| check_batch_size(n, false))
                .map(|n| {
                    args.options.batch_size = Some(n);
                    batch_size = Some((u64::from(n), value.clone()));
                }),
            OptionKey::Fifo => match value {
                Lit::Bool(b) => {
                    args.options.fifo = Some(b.value);
                    Ok(())
                }
                other => Err(syn::Error::new(other.span(), expected(option, &key))),
            },
            OptionKey::Filter => string(value, option, &key).and_then(|s| {
                let policy = FilterPolicy::parse(&s)
                    .map_err(|e| syn::Error::new(value.span(), format!("invalid filter: {e}")))?;
                args.filter = Some(policy.to_value().clone());
                Ok(())
            }),
            OptionKey::Bus => string(value, option, &key).and_then(|s| {
                Bus::parse(&s)
                    .map_err(|e| syn::Error::new(value.span(), format!("invalid bus: {e}")))?;
                args.bus = Some(s);
                Ok(())
            }),
            OptionKey::Pattern => string(value, option, &key).and_then(|s| {
                let pattern = EventPattern::parse(&s)
                    .map_err(|e| syn::Error::new(value.span(), format!("invalid pattern: {e}")))?;
                args.pattern = Some(pattern.to_value().clone());
                Ok(())
            }),
            OptionKey::Timezone => string(value, option, &key).and_then(|s| {
                eventfn_core::zone::parse_timezone(&s)
                    .map_err(|e| syn::Error::new(value.span(), e))?;
                args.timezone = Some(s);
                Ok(())
            }),
            OptionKey::FlexibleWindow => string(value, option, &key).and_then(|s| {
                let minutes = eventfn_core::zone::parse_window(&s)
                    .map_err(|e| syn::Error::new(value.span(), e))?;
                args.flexible_window = Some(minutes);
                Ok(())
            }),
            OptionKey::Name => string(value, option, &key).and_then(|s| {
                validate_name(&s).map_err(|e| {
                    syn::Error::new(value.span(), format!("invalid {} name: {e}", kind.as_str()))
                })?;
                args.name = Some(s);
                Ok(())
            }),
        };
        if let Err(e) = result {
            errors.push(e);
        }
    }
    if let (Some(true), Some((n, lit))) = (args.options.fifo, batch_size)
        && let Err(e) = check_batch_size(n, true)
    {
        errors.at(lit, e);
    }
    if kind == Kind::Rule {
        // Missing only: one given but invalid has its own error already.
        let missing: Vec<&str> = [OptionKey::Bus, OptionKey::Pattern]
            .into_iter()
            .filter(|o| !seen.contains(o))
            .map(OptionKey::as_str)
            .collect();
        if !missing.is_empty() {
            errors.at(
                Span::call_site(),
                format!("#[rule] needs `{}`: {RULE_USAGE}", missing.join("` and `")),
            );
        }
    }
    args
}

const RULE_USAGE: &str = "like #[rule(bus = \"default\", pattern = r#\"{\"source\": [\"aws.s3\"]}\"#)]: \
     `bus` is `default`, a partner bus `aws.partner/...`, a bus ARN or a bus of the app";

fn what_first(kind: Kind) -> String {
    match kind {
        Kind::Event => "#[event] needs the event name first, like #[event(\"account-signup\")]".to_owned(),
        Kind::Queue => "#[queue] needs the queue name first, like #[queue(\"thumbnails\")]".to_owned(),
        Kind::Schedule => "#[schedule] needs a schedule expression first, like #[schedule(\"rate(1 day)\")] or #[schedule(\"cron(0 12 * * ? *)\")]".to_owned(),
        Kind::Rule => unreachable!("a rule takes options only"),
    }
}

/// For a first argument that is not a string literal (`constant`: not a literal at all).
fn not_a_string(kind: Kind, constant: bool) -> String {
    let what = match kind {
        Kind::Event => {
            "#[event] needs the event name as a string, like #[event(\"account-signup\")]"
        }
        Kind::Queue => "#[queue] needs the queue name as a string, like #[queue(\"thumbnails\")]",
        Kind::Schedule => {
            "#[schedule] needs the schedule expression as a string, like #[schedule(\"rate(1 day)\")]"
        }
        Kind::Rule => unreachable!("a rule takes options only"),
    };
    if constant {
        format!("{what}: an attribute cannot read constants or macros, so write the string itself")
    } else {
        what.to_owned()
    }
}

fn first_argument(kind: Kind, lit: &LitStr, args: &mut Args, errors: &mut Errors) {
    let text = lit.value();
    match kind {
        Kind::Schedule => match Schedule::parse(&text) {
            Ok(schedule) => args.schedule = Some(schedule.to_string()),
            Err(e) => errors.at(lit, format!("invalid schedule: {e}")),
        },
        Kind::Event | Kind::Queue => match validate_name(&text) {
            Ok(()) => args.name = Some(text),
            Err(e) => errors.at(lit, format!("invalid {} name: {e}", kind.as_str())),
        },
        Kind::Rule => unreachable!("a rule takes options only"),
    }
}

fn string(value: &Lit, option: OptionKey, key: &syn::Ident) -> syn::Result<String> {
    match value {
        Lit::Str(s) => Ok(s.value()),
        other => Err(syn::Error::new(other.span(), expected(option, key))),
    }
}

fn integer(
    value: &Lit,
    option: OptionKey,
    key: &syn::Ident,
    check: impl Fn(u64) -> Result<u32, String>,
) -> syn::Result<u32> {
    let Lit::Int(int) = value else {
        return Err(syn::Error::new(value.span(), expected(option, key)));
    };
    let n: u64 = int
        .base10_parse()
        .map_err(|_| syn::Error::new(int.span(), expected(option, key)))?;
    check(n).map_err(|e| syn::Error::new(int.span(), e))
}
