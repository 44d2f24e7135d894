//! The AWS session of `deploy` and `destroy`: region, endpoint and credentials, checked before
//! anything is touched, and AWS errors turned into messages that say what to do.

use std::error::Error as StdError;
use std::fmt::Debug;

use anyhow::{Result, anyhow, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::ProvideCredentials as _;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use http::Uri;

use crate::redact;

/// Where to reach AWS: `--region` and `--endpoint-url` (or `AWS_ENDPOINT_URL`) of a command.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// AWS region. Default: `region` of [package.metadata.eventfn], then the AWS configuration
    /// (AWS_REGION, the profile's region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Send every AWS request to this endpoint instead of AWS's own, e.g. a local moto server.
    /// S3 is then addressed path-style (http://host/bucket/key). A user name and password in it
    /// (http://user:password@host) are never shown.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub endpoint_url: Option<String>,
}

/// A checked session: the region is known, credentials resolve and the account answers.
pub struct Session {
    pub config: SdkConfig,
    pub region: String,
    pub account: String,
    /// Where the SDK sends requests unless a service has an endpoint of its own: `--endpoint-url`,
    /// else `AWS_ENDPOINT_URL` or the profile's `endpoint_url` unless
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (or the profile's `ignore_configured_endpoint_urls`)
    /// says to ignore them; `None`: AWS's own.
    pub endpoint: Option<String>,
    /// Whether `endpoint` is `--endpoint-url`'s, which the SDK sends every service's requests to.
    pub(crate) endpoint_from_flag: bool,
}

/// The SDK's default HTTPS client, on rustls with *ring* rather than AWS-LC, whose C build took
/// minutes of every clean build: what the SDK's `default-https-client` feature builds
/// (`aws_smithy_runtime::client::http::default_https_client`), with the platform's trusted roots
/// and the proxy from the environment. The runtime builds the same (`runtime/src/aws_sdk.rs`).
pub(crate) fn https_client() -> aws_sdk_sts::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    // `build_with_connector_fn` is `#[doc(hidden)]`: the SDK's own default client is built with
    // it, and the public `build_https` would leave out the proxy from the environment.
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = aws_smithy_http_client::Connector::builder()
            .tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

impl Session {
    /// Resolves region and credentials and asks STS who we are, so that a missing region, missing
    /// credentials or an unreachable endpoint stop the command before it changes anything.
    /// `app_region` is the app's `region` setting, used when `--region` is not given.
    pub async fn open(target: &Target, app_region: Option<&str>) -> Result<Session> {
        if let Some(url) = &target.endpoint_url {
            check_endpoint(url)?;
        }
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
        if let Some(region) = target.region.as_deref().or(app_region) {
            check_region(region)?;
            loader = loader.region(Region::new(region.to_owned()));
        }
        // An endpoint from AWS_ENDPOINT_URL is left to the SDK, which reads it itself and lets a
        // service's own (AWS_ENDPOINT_URL_LAMBDA, ...) take precedence, as every AWS SDK and the
        // AWS CLI do; --endpoint-url sends every request to its endpoint.
        let from_environment = std::env::var("AWS_ENDPOINT_URL").ok() == target.endpoint_url;
        if let Some(url) = target.endpoint_url.as_ref().filter(|_| !from_environment) {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            anyhow!(
                "no AWS region: pass --region, set `region` in [package.metadata.eventfn] of \
                     the app's Cargo.toml, or set AWS_REGION"
            )
        })?;
        let Some(provider) = config.credentials_provider() else {
            bail!("no AWS credentials provider is configured");
        };
        if let Err(err) = provider.provide_credentials().await {
            bail!(
                "no AWS credentials: {}\n\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
                 AWS_PROFILE to a profile of ~/.aws/config (run `aws configure` or \
                 `aws sso login` to make one)",
                causes(&err)
            );
        }
        let mut session = Session {
            // As the SDK resolved it: an ignored AWS_ENDPOINT_URL is none.
            endpoint: config.endpoint_url().map(str::to_owned),
            endpoint_from_flag: target.endpoint_url.is_some() && !from_environment,
            config,
            region,
            account: String::new(),
        };
        let identity = aws_sdk_sts::Client::new(&session.config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                session.explain(
                    "could not check the AWS credentials (sts:GetCallerIdentity)",
                    e,
                )
            })?;
        session.account = identity.account.unwrap_or_default();
        Ok(session)
    }

    /// Where requests go, for messages: without the endpoint's user name and password.
    pub fn endpoint_name(&self) -> String {
        match &self.endpoint {
            Some(url) => redact::url(url).into_owned(),
            None => format!("AWS ({})", self.region),
        }
    }

    /// Where requests to one service go, for messages: the service's own endpoint
    /// (`AWS_ENDPOINT_URL_<SERVICE>`, e.g. `LAMBDA`) when the SDK takes it, which it does unless
    /// --endpoint-url was given.
    pub fn service_endpoint_name(&self, service: &str) -> String {
        match std::env::var(format!("AWS_ENDPOINT_URL_{service}")) {
            Ok(url) if !self.endpoint_from_flag && !url.is_empty() => {
                redact::url(&url).into_owned()
            }
            _ => self.endpoint_name(),
        }
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let mut config = aws_sdk_s3::config::Builder::from(&self.config);
        let own_endpoint = !self.endpoint_from_flag
            && std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|v| !v.is_empty());
        if self.endpoint.is_some() || own_endpoint {
            // Local endpoints serve one host name, not one per bucket.
            config = config.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }

    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }

    /// `what` failed: why, in the service's words when it answered, or that it could not be
    /// reached.
    pub fn explain<E, R>(&self, what: &str, err: SdkError<E, R>) -> anyhow::Error
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: Debug + 'static,
    {
        self.explain_service(what, None, err)
    }

    /// [`Session::explain`] for a request to `service` (`LAMBDA`), which may go to an endpoint of
    /// its own (see [`Session::service_endpoint_name`]).
    pub fn explain_service<E, R>(
        &self,
        what: &str,
        service: Option<&str>,
        err: SdkError<E, R>,
    ) -> anyhow::Error
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: Debug + 'static,
    {
        let endpoint = service.map_or_else(
            || self.endpoint_name(),
            |service| self.service_endpoint_name(service),
        );
        let own = service
            .map(|service| format!("AWS_ENDPOINT_URL_{service}"))
            .filter(|variable| std::env::var_os(variable).is_some_and(|v| !v.is_empty()));
        match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => anyhow!(
                "{what}: could not reach {endpoint}: {}\n\nCheck the network{}",
                causes(&err),
                match own {
                    Some(variable) if endpoint != self.endpoint_name() =>
                        format!(", and that the endpoint of {variable} is up"),
                    _ if self.endpoint.is_some() => {
                        ", and that the endpoint of --endpoint-url (or AWS_ENDPOINT_URL) is up"
                            .to_owned()
                    }
                    _ if std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|v| !v.is_empty()) => {
                        let why = if std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
                            .is_ok_and(|v| v.eq_ignore_ascii_case("true"))
                        {
                            "as AWS_IGNORE_CONFIGURED_ENDPOINT_URLS says"
                        } else {
                            "as the profile's `ignore_configured_endpoint_urls` says, or the \
                             AWS SDK could not read it as a URL"
                        };
                        format!("; AWS_ENDPOINT_URL is set but not used, {why}: requests go to AWS")
                    }
                    _ => String::new(),
                }
            ),
            _ => match (err.code(), err.message()) {
                (Some(code), Some(message)) => anyhow!("{what}: {code}: {message}"),
                (None, Some(message)) => anyhow!("{what}: {message}"),
                _ => anyhow!("{what}: {}", causes(&err)),
            },
        }
    }
}

/// An error and its sources, `: `-separated, without the debug dump the SDK's own display adds.
fn causes(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Checks `url` as the AWS SDK will read it (`http::Uri`), before anything is sent; the error
/// shows it without its user name and password.
fn check_endpoint(url: &str) -> Result<()> {
    let shown = redact::url(url);
    let invalid = |why: &str| {
        let hidden = if shown != url {
            " (its user name and password not shown)"
        } else {
            ""
        };
        anyhow!(
            "invalid endpoint URL `{shown}`{hidden} (from --endpoint-url or AWS_ENDPOINT_URL): \
             {why}expected http://HOST[:PORT] or https://HOST[:PORT]"
        )
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {}
        _ => return Err(invalid("")),
    }
    match url.parse::<Uri>() {
        Err(e) => Err(invalid(&format!("{e}; "))),
        Ok(uri) if uri.host().is_none_or(str::is_empty) => Err(invalid("no host; ")),
        Ok(_) => Ok(()),
    }
}

/// Region names are lowercase words and digits joined by `-` (`eu-west-1`); anything else would
/// only fail later, inside a host name.
fn check_region(region: &str) -> Result<()> {
    let valid = !region.is_empty()
        && region.len() <= 32
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if !valid {
        bail!("invalid AWS region `{region}`: expected a name like `us-east-1` or `eu-west-1`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No AWS over HTTPS here: a listener on loopback reads what the client sends first, which is
    /// a TLS handshake record (0x16) when an `https` endpoint is spoken to with TLS.
    #[test]
    fn the_sdk_clients_speak_tls_to_an_https_endpoint() {
        use std::io::Read as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut first = [0u8; 1];
            stream.read_exact(&mut first).unwrap();
            first[0]
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sent = runtime.block_on(async {
            let config = aws_config::defaults(BehaviorVersion::latest())
                .http_client(https_client())
                .endpoint_url(format!("https://127.0.0.1:{port}"))
                .region(Region::new("us-east-1"))
                .credentials_provider(aws_sdk_sts::config::Credentials::new(
                    "test", "test", None, None, "test",
                ))
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .load()
                .await;
            aws_sdk_sts::Client::new(&config)
                .get_caller_identity()
                .send()
                .await
        });
        assert!(sent.is_err(), "no TLS server there, yet: {sent:?}");
        assert_eq!(server.join().unwrap(), 0x16, "a TLS handshake record");
    }

    #[test]
    fn endpoints_and_regions_are_checked_before_use() {
        check_endpoint("http://127.0.0.1:5000").unwrap();
        check_endpoint("https://cloudformation.example.com").unwrap();
        for bad in [
            "127.0.0.1:5000",
            "http://",
            "ftp://x",
            "http:///x",
            "http://exa mple.com",
        ] {
            let err = check_endpoint(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
        // Read as the SDK reads it, and shown without its password.
        check_endpoint("http://user:secret@127.0.0.1:5000").unwrap();
        let err = check_endpoint("http://user:secret@")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid endpoint URL `http://` (its user name and password not shown) (from \
             --endpoint-url or AWS_ENDPOINT_URL): invalid authority; expected http://HOST[:PORT] \
             or https://HOST[:PORT]"
        );
        check_region("eu-west-1").unwrap();
        for bad in ["", "EU-WEST-1", "eu west", "-us", "us-east-1/x"] {
            let err = check_region(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }
}
