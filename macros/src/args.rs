//! Parses and checks an attribute's arguments: the name or schedule expression, then options.

use eventfn_core::options::{
    check_batch_size, check_concurrency, check_memory, check_retries, parse_timeout,
};
use eventfn_core::record::DeclaredOptions;
use eventfn_core::{Kind, OptionKey, Schedule, validate_name};
use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{Lit, LitStr, Token};

use crate::errors::Errors;

/// What an attribute declares, once checked.
pub struct Args {
    /// Event or queue name; for a schedule, its `name` option if given.
    pub name: Option<String>,
    /// A schedule's expression, normalized.
    pub schedule: Option<String>,
    pub options: DeclaredOptions,
}

enum Arg {
    Positional(Lit),
    Named { key: syn::Ident, value: Lit },
}

fn parse_arg(input: ParseStream) -> syn::Result<Arg> {
    if input.peek(Lit) {
        return Ok(Arg::Positional(input.parse()?));
    }
    let key: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
    input.parse::<Token![=]>()?;
    let value = input.parse::<Lit>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!(
                "the value of `{key}` must be a literal, like `{key} = {}`",
                example(&key)
            ),
        )
    })?;
    Ok(Arg::Named { key, value })
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
        None => "\"...\"",
    }
}

pub fn parse(kind: Kind, tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args {
        name: None,
        schedule: None,
        options: DeclaredOptions::default(),
    };
    let parser = |input: ParseStream| {
        syn::punctuated::Punctuated::<Arg, Token![,]>::parse_terminated_with(input, parse_arg)
    };
    let list = match parser.parse2(tokens) {
        Ok(list) => list,
        Err(e) => {
            errors.push(e);
            return args;
        }
    };
    let mut items = list.into_iter().peekable();
    match items.next_if(|a| matches!(a, Arg::Positional(_))) {
        Some(Arg::Positional(Lit::Str(lit))) => first_argument(kind, &lit, &mut args, errors),
        Some(Arg::Positional(other)) => errors.at(other, what_first(kind)),
        _ => errors.at(Span::call_site(), what_first(kind)),
    }

    let mut seen: Vec<OptionKey> = Vec::new();
    let mut batch_size: Option<(u64, Lit)> = None;
    for item in items {
        let (key, value) = match item {
            Arg::Named { key, value } => (key, value),
            Arg::Positional(lit) => {
                errors.at(
                    &lit,
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
                OptionKey::Name => "`name` applies only to #[schedule]: events and queues are named by the first argument".to_owned(),
                _ => format!("`{key}` applies only to #[queue]"),
            };
            errors.at(&key, only);
            continue;
        }
        let result = match option {
            OptionKey::Timeout => string(&value, &key)
                .and_then(|s| parse_timeout(&s).map_err(|e| syn::Error::new(value.span(), e)))
                .map(|t| args.options.timeout = Some(t)),
            OptionKey::Retries => {
                integer(&value, &key, check_retries).map(|n| args.options.retries = Some(n))
            }
            OptionKey::Memory => {
                integer(&value, &key, check_memory).map(|n| args.options.memory = Some(n))
            }
            OptionKey::Concurrency => {
                integer(&value, &key, check_concurrency).map(|n| args.options.concurrency = Some(n))
            }
            OptionKey::BatchSize => {
                integer(&value, &key, |n| check_batch_size(n, false)).map(|n| {
                    args.options.batch_size = Some(n);
                    batch_size = Some((u64::from(n), value.clone()));
                })
            }
            OptionKey::Fifo => match &value {
                Lit::Bool(b) => {
                    args.options.fifo = Some(b.value);
                    Ok(())
                }
                other => Err(syn::Error::new(
                    other.span(),
                    "`fifo` takes `true` or `false`",
                )),
            },
            OptionKey::Name => string(&value, &key).and_then(|s| {
                validate_name(&s)
                    .map_err(|e| syn::Error::new(value.span(), format!("schedule {e}")))?;
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
    args
}

fn what_first(kind: Kind) -> String {
    match kind {
        Kind::Event => "#[event] needs the event name first, like #[event(\"account-signup\")]".to_owned(),
        Kind::Queue => "#[queue] needs the queue name first, like #[queue(\"thumbnails\")]".to_owned(),
        Kind::Schedule => "#[schedule] needs a schedule expression first, like #[schedule(\"rate(1 day)\")] or #[schedule(\"cron(0 12 * * ? *)\")]".to_owned(),
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
            Err(e) => errors.at(lit, format!("invalid {} {e}", kind.as_str())),
        },
    }
}

fn string(value: &Lit, key: &syn::Ident) -> syn::Result<String> {
    match value {
        Lit::Str(s) => Ok(s.value()),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{key}` takes a string, like `{key} = {}`", example(key)),
        )),
    }
}

fn integer(
    value: &Lit,
    key: &syn::Ident,
    check: impl Fn(u64) -> Result<u32, String>,
) -> syn::Result<u32> {
    let Lit::Int(int) = value else {
        return Err(syn::Error::new(
            value.span(),
            format!(
                "`{key}` takes a whole number, like `{key} = {}`",
                example(key)
            ),
        ));
    };
    let n: u64 = int.base10_parse().map_err(|_| {
        syn::Error::new(
            int.span(),
            format!(
                "`{key}` takes a whole number, like `{key} = {}`",
                example(key)
            ),
        )
    })?;
    check(n).map_err(|e| syn::Error::new(int.span(), e))
}
