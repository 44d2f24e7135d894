//! Status output in cargo's style: a verb right-aligned in 12 columns, bold and colored, on
//! stderr; colors only on a terminal unless `--color` says otherwise. Whatever it prints goes
//! through [`redact::text`], so no endpoint's password reaches the screen.

use anstyle::{AnsiColor, Style};
use std::fmt::Display;

use crate::redact;

const GREEN: Style = AnsiColor::Green.on_default().bold();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const CYAN: Style = AnsiColor::Cyan.on_default().bold();

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Applies the choice to everything printed through `anstream`.
    /// The `--color` value for cargo, when not left to it.
    pub fn cargo_arg(self) -> Option<&'static str> {
        match self {
            ColorChoice::Auto => None,
            ColorChoice::Always => Some("always"),
            ColorChoice::Never => Some("never"),
        }
    }

    pub fn apply(self) {
        let choice = match self {
            ColorChoice::Auto => anstream::ColorChoice::Auto,
            ColorChoice::Always => anstream::ColorChoice::Always,
            ColorChoice::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Shell {
    pub quiet: bool,
    pub verbose: bool,
    /// Also handed to the cargo commands this one runs.
    pub color: ColorChoice,
}

impl Shell {
    /// `   Compiling foo`-style status line.
    pub fn status(&self, verb: &str, message: impl Display) {
        if !self.quiet {
            let message = message.to_string();
            let message = redact::text(&message);
            anstream::eprintln!("{GREEN}{verb:>12}{GREEN:#} {message}");
        }
    }

    /// A status line for something that failed, its verb in red.
    pub fn failure(&self, verb: &str, message: impl Display) {
        let message = message.to_string();
        let message = redact::text(&message);
        anstream::eprintln!("{RED}{verb:>12}{RED:#} {message}");
    }

    /// `warning: ...`, as cargo prints them.
    pub fn warn(&self, message: impl Display) {
        if !self.quiet {
            let message = message.to_string();
            let message = redact::text(&message);
            anstream::eprintln!("{YELLOW}warning{YELLOW:#}: {message}");
        }
    }

    /// `note: ...`, as cargo prints them: how something was done, when it may surprise.
    pub fn note(&self, message: impl Display) {
        if !self.quiet {
            let message = message.to_string();
            let message = redact::text(&message);
            anstream::eprintln!("{CYAN}note{CYAN:#}: {message}");
        }
    }

    /// A status line shown only with `-v`.
    pub fn verbose(&self, verb: &str, message: impl Display) {
        if self.verbose {
            self.status(verb, message);
        }
    }
}

/// Prints an error and its causes the way cargo does.
pub fn error(err: &anyhow::Error) {
    let message = err.to_string();
    anstream::eprintln!("{RED}error{RED:#}: {}", redact::text(&message));
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        anstream::eprintln!("\nCaused by:\n  {}", redact::text(&cause));
    }
}
