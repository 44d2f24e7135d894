//! App-wide settings from `[package.metadata.eventfn]` in the app's Cargo.toml, read by
//! [`eventfn_core::settings`]:
//!
//! ```toml
//! [package.metadata.eventfn]
//! app = "welcome"            # default: the package name
//! region = "eu-west-1"       # default: the AWS configuration's region at deploy time
//! memory = 512               # MB, for handlers that do not set `memory`; default 1024
//! timeout = "10s"            # for handlers that do not set `timeout`; default "5s"
//! architecture = "arm64"     # or "x86_64", the default; `--arm64` overrides it
//! kms_key = "arn:aws:kms:eu-west-1:123456789012:key/..."  # see below; default: none
//! ```
//!
//! `kms_key`, the ARN of a symmetric customer managed KMS key in the region the app deploys to,
//! encrypts the functions' log groups and environment variables (see [`crate::template`]).

use anyhow::{Result, anyhow};
use eventfn_core::manifest::Architecture;
use eventfn_core::options::Defaults;
use eventfn_core::settings::Settings;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    pub app: String,
    pub region: Option<String>,
    pub architecture: Architecture,
    /// `kms_key`: the ARN of the key of the log groups and functions' environments.
    pub kms_key: Option<String>,
    pub defaults: Defaults,
}

impl AppConfig {
    /// Reads the settings of `package`; every bad value is an error naming its key.
    pub fn from_package(package: &cargo_metadata::Package) -> Result<AppConfig> {
        let settings = Settings::from_metadata(
            package.metadata.get("eventfn"),
            package.manifest_path.as_str(),
        )
        .map_err(|e| anyhow!(e))?;
        let app = match settings.app {
            Some(app) => app,
            None => {
                let name = package.name.to_string();
                eventfn_core::validate_name(&name).map_err(|e| {
                    anyhow!(
                        "{}: the package name `{name}` is not a valid app name: {e}; set `app` in \
                         [package.metadata.eventfn]",
                        package.manifest_path
                    )
                })?;
                name
            }
        };
        Ok(AppConfig {
            app,
            region: settings.region,
            architecture: settings.architecture,
            kms_key: settings.kms_key,
            defaults: settings.defaults,
        })
    }
}
