//! App-wide settings from `[package.metadata.eventfn]` in the app's Cargo.toml:
//!
//! ```toml
//! [package.metadata.eventfn]
//! app = "welcome"            # default: the package name
//! region = "eu-west-1"       # default: the AWS configuration's region at deploy time
//! memory = 512               # MB, for handlers that do not set `memory`; default 1024
//! timeout = "10s"            # for handlers that do not set `timeout`; default "5s"
//! architecture = "arm64"     # or "x86_64", the default; `--arm64` overrides it
//! ```

use anyhow::{Result, anyhow, bail};
use eventfn_core::manifest::Architecture;
use eventfn_core::options::{Defaults, check_memory, parse_timeout};
use eventfn_core::validate_name;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    app: Option<String>,
    region: Option<String>,
    memory: Option<u64>,
    timeout: Option<String>,
    architecture: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    pub app: String,
    pub region: Option<String>,
    pub architecture: Architecture,
    pub defaults: Defaults,
}

impl AppConfig {
    /// Reads the settings of `package`; every bad value is an error naming its key.
    pub fn from_package(package: &cargo_metadata::Package) -> Result<AppConfig> {
        let manifest = &package.manifest_path;
        let raw: Raw = match package.metadata.get("eventfn") {
            None => Raw::default(),
            Some(value) => Raw::deserialize(value).map_err(|e| {
                anyhow!("{manifest}: [package.metadata.eventfn]: {e}; the keys are `app`, `region`, `memory`, `timeout`, `architecture`")
            })?,
        };
        let key = |k: &str| format!("{manifest}: [package.metadata.eventfn] {k}");
        let app = raw.app.unwrap_or_else(|| package.name.to_string());
        validate_name(&app).map_err(|e| anyhow!("{}: invalid app name: {e}", key("app")))?;
        let mut defaults = Defaults::default();
        if let Some(memory) = raw.memory {
            defaults.memory =
                check_memory(memory).map_err(|e| anyhow!("{}: {e}", key("memory")))?;
        }
        if let Some(timeout) = &raw.timeout {
            defaults.timeout =
                parse_timeout(timeout).map_err(|e| anyhow!("{}: {e}", key("timeout")))?;
        }
        let architecture = match raw.architecture.as_deref() {
            None | Some("x86_64") => Architecture::X86_64,
            Some("arm64") => Architecture::Arm64,
            Some(other) => bail!(
                "{}: `{other}` is not a Lambda architecture: use \"x86_64\" or \"arm64\"",
                key("architecture")
            ),
        };
        if let Some(region) = &raw.region {
            let valid = !region.is_empty()
                && region.split('-').count() >= 3
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                bail!(
                    "{}: `{region}` is not an AWS region name like \"eu-west-1\"",
                    key("region")
                );
            }
        }
        Ok(AppConfig {
            app,
            region: raw.region,
            architecture,
            defaults,
        })
    }
}
