//! SSM's `GetParameter`, the one SSM call the runtime makes (finding a stack's topics, queues,
//! buses and delay route), as an operation on the SDK's own orchestrator
//! (`aws_smithy_runtime`'s `Operation`) signed by the SDK's SigV4 scheme.
//!
//! Why not `aws-sdk-ssm`: that crate generates all of SSM's operations and was 128 s of the
//! 314 s clean release build of an app (`cargo build --timings` of `examples/welcome`, the
//! longest unit of the build and the last to finish before the app could link), for this one
//! call. What the generated client would add for it is built here from the same parts: the
//! configuration's credentials (cached), region, HTTP client, retry and timeout settings, an
//! endpoint from `AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL` or the partition (with FIPS and
//! dual-stack), retries of throttling, 5xx and transient errors, and SSM's error codes. The
//! tool's tests compare it with `aws-sdk-ssm` against moto.

use std::fmt;

use aws_config::SdkConfig;
use aws_runtime::auth::SigV4OperationSigningConfig;
use aws_runtime::auth::sigv4::{SCHEME_ID, SigV4AuthScheme};
use aws_smithy_runtime::client::orchestrator::operation::Operation;
use aws_smithy_runtime::client::retries::classifiers::{
    HttpStatusCodeClassifier, TransientErrorClassifier,
};
use aws_smithy_runtime_api::client::auth::static_resolver::StaticAuthSchemeOptionResolver;
use aws_smithy_runtime_api::client::auth::{AuthSchemeOptionResolverParams, SharedAuthScheme};
use aws_smithy_runtime_api::client::identity::SharedIdentityResolver;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::StaticRuntimePlugin;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::Layer;
use aws_smithy_types::retry::{ErrorKind, RetryConfig};
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SigningName;
use aws_types::region::SigningRegion;
use aws_types::service_config::ServiceConfigKey;
use serde::Deserialize;

/// SSM's error codes that mean "slow down": retried as throttling, as the SDK does.
const THROTTLING: [&str; 3] = [
    "ThrottlingException",
    "TooManyUpdates",
    "RequestLimitExceeded",
];

/// An SSM client that reads parameters.
pub(crate) struct Ssm {
    operation: Operation<String, String, SsmError>,
}

/// Why SSM answered with an error: its code (`ParameterNotFound`, ...) and message.
#[derive(Debug)]
pub(crate) struct SsmError {
    pub(crate) code: String,
    pub(crate) message: String,
}

impl fmt::Display for SsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.code)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

impl std::error::Error for SsmError {}

impl SsmError {
    pub(crate) fn is_parameter_not_found(&self) -> bool {
        self.code == "ParameterNotFound"
    }
}

/// The failure of a read: SSM's answer, or why there was none.
pub(crate) type ReadError = SdkError<SsmError, HttpResponse>;

impl Ssm {
    /// A client configured as `aws_sdk_ssm::Client::new(config)` would be. An error if the
    /// configuration has no region (and no endpoint URL to use without one).
    pub(crate) fn new(config: &SdkConfig) -> Result<Ssm, String> {
        let region = config.region().map(|r| r.as_ref().to_owned());
        let endpoint = match endpoint_url(config) {
            Some(url) => url,
            None => {
                let Some(region) = &region else {
                    return Err("no AWS region is configured (set AWS_REGION)".to_owned());
                };
                regional_endpoint(
                    region,
                    config.use_fips().unwrap_or(false),
                    config.use_dual_stack().unwrap_or(false),
                )
            }
        };
        let signing = SigV4OperationSigningConfig {
            region: region.map(|r| SigningRegion::from(aws_types::region::Region::new(r))),
            name: Some(SigningName::from_static("ssm")),
            ..SigV4OperationSigningConfig::default()
        };
        let mut layer = Layer::new("eventfn-ssm");
        layer.store_put(AuthSchemeOptionResolverParams::new(()));
        layer.store_put(signing);
        let mut components = RuntimeComponentsBuilder::new("eventfn-ssm")
            .with_auth_scheme_option_resolver(Some(StaticAuthSchemeOptionResolver::new(vec![
                SCHEME_ID,
            ])))
            .with_auth_scheme(SharedAuthScheme::new(SigV4AuthScheme::new()));
        if let Some(credentials) = config.credentials_provider() {
            components = components
                .with_identity_resolver(SCHEME_ID, SharedIdentityResolver::new(credentials));
        }
        if let Some(cache) = config.identity_cache() {
            components = components.with_identity_cache(Some(cache));
        }
        let mut builder = Operation::builder()
            .service_name("ssm")
            .operation_name("GetParameter")
            .endpoint_url(&endpoint)
            .with_connection_poisoning()
            .timeout_config(
                config
                    .timeout_config()
                    .cloned()
                    .unwrap_or_else(TimeoutConfig::disabled),
            )
            .runtime_plugin(
                StaticRuntimePlugin::new()
                    .with_config(layer.freeze())
                    .with_runtime_components(components),
            );
        if let Some(client) = config.http_client() {
            builder = builder.http_client(client);
        }
        if let Some(time) = config.time_source() {
            builder = builder.time_source(time);
        }
        builder = match config.sleep_impl() {
            Some(sleep) => builder
                .sleep_impl(sleep)
                .standard_retry(
                    &config
                        .retry_config()
                        .cloned()
                        .unwrap_or_else(RetryConfig::standard),
                )
                .retry_classifier(TransientErrorClassifier::<SsmError>::new())
                .retry_classifier(HttpStatusCodeClassifier::default())
                .retry_classifier(Throttling),
            None => builder.no_retry(),
        };
        let operation = builder
            .serializer(move |name: String| {
                let body = serde_json::json!({ "Name": name }).to_string();
                let request = http::Request::builder()
                    .method("POST")
                    .uri(&endpoint)
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("x-amz-target", "AmazonSSM.GetParameter")
                    .body(SdkBody::from(body))?;
                Ok(HttpRequest::try_from(request)?)
            })
            .deserializer(read_answer)
            .build();
        Ok(Ssm { operation })
    }

    /// The value of parameter `name`.
    pub(crate) async fn get_parameter(&self, name: &str) -> Result<String, ReadError> {
        self.operation.invoke(name.to_owned()).await
    }
}

/// The endpoint URL the configuration gives SSM, as the SDK reads it: `AWS_ENDPOINT_URL_SSM`
/// (or the profile's `services` section), then `AWS_ENDPOINT_URL` (or the profile's
/// `endpoint_url`); one set in code wins over both.
fn endpoint_url(config: &SdkConfig) -> Option<String> {
    if config.get_origin("endpoint_url").is_client_config() {
        return config.endpoint_url().map(str::to_owned);
    }
    let key = ServiceConfigKey::builder()
        .service_id("SSM")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .expect("every field is set");
    config
        .service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| config.endpoint_url().map(str::to_owned))
}

/// SSM's endpoint in `region`, by the SDK's partitions (its `partitions.json`): the DNS suffix
/// of the region's partition, `ssm-fips` for FIPS and the partition's dual-stack suffix.
fn regional_endpoint(region: &str, fips: bool, dual_stack: bool) -> String {
    let starts = |prefix: &str| region.starts_with(prefix);
    let (suffix, dual_suffix) = if starts("cn-") {
        ("amazonaws.com.cn", "api.amazonwebservices.com.cn")
    } else if starts("us-isob-") {
        ("sc2s.sgov.gov", "sc2s.sgov.gov")
    } else if starts("us-isof-") {
        ("csp.hci.ic.gov", "csp.hci.ic.gov")
    } else if starts("us-iso-") {
        ("c2s.ic.gov", "c2s.ic.gov")
    } else if starts("eu-isoe-") {
        ("cloud.adc-e.uk", "cloud.adc-e.uk")
    } else if starts("eusc-") {
        ("amazonaws.eu", "amazonaws.eu")
    } else {
        ("amazonaws.com", "api.aws")
    };
    let host = if fips { "ssm-fips" } else { "ssm" };
    let suffix = if dual_stack { dual_suffix } else { suffix };
    format!("https://{host}.{region}.{suffix}")
}

/// What `GetParameter` answers.
#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Parameter")]
    parameter: Option<Parameter>,
}

#[derive(Deserialize)]
struct Parameter {
    #[serde(rename = "Value")]
    value: Option<String>,
}

/// The parameter's value, or SSM's error as its code and message (awsJson 1.1: `__type` in the
/// body or `x-amzn-errortype`, possibly with a namespace before `#` and a URI after `:`).
fn read_answer(response: &HttpResponse) -> Result<String, OrchestratorError<SsmError>> {
    let body = response.body().bytes().unwrap_or_default();
    if response.status().is_success() {
        let answer: Answer = serde_json::from_slice(body).map_err(|e| {
            OrchestratorError::operation(SsmError {
                code: "UnreadableAnswer".to_owned(),
                message: format!("SSM's answer is not GetParameter's JSON: {e}"),
            })
        })?;
        return answer.parameter.and_then(|p| p.value).ok_or_else(|| {
            OrchestratorError::operation(SsmError {
                code: "NoValue".to_owned(),
                message: "SSM answered without the parameter's value".to_owned(),
            })
        });
    }
    #[derive(Deserialize, Default)]
    struct Failure {
        #[serde(rename = "__type")]
        kind: Option<String>,
        #[serde(alias = "Message")]
        message: Option<String>,
    }
    let failure: Failure = serde_json::from_slice(body).unwrap_or_default();
    let header = response
        .headers()
        .get("x-amzn-errortype")
        .map(str::to_owned);
    let code = header
        .or(failure.kind)
        .map(|kind| error_code(&kind).to_owned())
        .unwrap_or_else(|| format!("HTTP {}", response.status().as_u16()));
    Err(OrchestratorError::operation(SsmError {
        code,
        message: failure.message.unwrap_or_default(),
    }))
}

/// `ParameterNotFound` of `com.amazonaws.ssm#ParameterNotFound:http://...`.
fn error_code(kind: &str) -> &str {
    let kind = kind.split(':').next().unwrap_or(kind);
    kind.rsplit('#').next().unwrap_or(kind)
}

/// Retries SSM's throttling errors as throttling (with the retry strategy's backoff).
#[derive(Debug)]
struct Throttling;

impl ClassifyRetry for Throttling {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let throttled = ctx
            .output_or_error()
            .and_then(|r| r.err())
            .and_then(OrchestratorError::as_operation_error)
            .and_then(|e| e.downcast_ref::<SsmError>())
            .is_some_and(|e| THROTTLING.contains(&e.code.as_str()));
        if throttled {
            RetryAction::retryable_error(ErrorKind::ThrottlingError)
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "SSM throttling"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        let mut builder = http::Response::builder().status(status);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        HttpResponse::try_from(builder.body(SdkBody::from(body.to_owned())).unwrap()).unwrap()
    }

    fn error(r: Result<String, OrchestratorError<SsmError>>) -> SsmError {
        let e = r.unwrap_err();
        let e = e.as_operation_error().unwrap();
        SsmError {
            code: e.code.clone(),
            message: e.message.clone(),
        }
    }

    #[test]
    fn an_answer_gives_the_value_and_an_error_its_code_and_message() {
        let ok = response(
            200,
            &[],
            r#"{"Parameter":{"Name":"/s/events/e","Type":"String","Value":"arn:aws:sns:x","Version":1}}"#,
        );
        assert_eq!(read_answer(&ok).unwrap(), "arn:aws:sns:x");

        let missing = error(read_answer(&response(
            400,
            &[],
            r#"{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"gone"}"#,
        )));
        assert!(missing.is_parameter_not_found());
        assert_eq!(missing.to_string(), "ParameterNotFound: gone");

        let header = error(read_answer(&response(
            400,
            &[(
                "x-amzn-errortype",
                "ThrottlingException:http://internal.amazon.com/",
            )],
            r#"{"Message":"Rate exceeded"}"#,
        )));
        assert_eq!(header.to_string(), "ThrottlingException: Rate exceeded");

        let bare = error(read_answer(&response(503, &[], "Service Unavailable")));
        assert_eq!(bare.to_string(), "HTTP 503");

        let odd = error(read_answer(&response(200, &[], "{}")));
        assert_eq!(odd.code, "NoValue");
        let html = error(read_answer(&response(200, &[], "<html>")));
        assert!(html.message.contains("not GetParameter's JSON"), "{html}");
    }

    #[test]
    fn endpoints_follow_the_partitions() {
        for (region, fips, dual, url) in [
            (
                "us-east-1",
                false,
                false,
                "https://ssm.us-east-1.amazonaws.com",
            ),
            (
                "eu-west-3",
                true,
                false,
                "https://ssm-fips.eu-west-3.amazonaws.com",
            ),
            ("ap-south-2", false, true, "https://ssm.ap-south-2.api.aws"),
            (
                "cn-north-1",
                false,
                false,
                "https://ssm.cn-north-1.amazonaws.com.cn",
            ),
            (
                "cn-north-1",
                false,
                true,
                "https://ssm.cn-north-1.api.amazonwebservices.com.cn",
            ),
            (
                "us-gov-west-1",
                true,
                false,
                "https://ssm-fips.us-gov-west-1.amazonaws.com",
            ),
            (
                "us-iso-east-1",
                false,
                false,
                "https://ssm.us-iso-east-1.c2s.ic.gov",
            ),
            (
                "us-isob-east-1",
                false,
                false,
                "https://ssm.us-isob-east-1.sc2s.sgov.gov",
            ),
        ] {
            assert_eq!(regional_endpoint(region, fips, dual), url, "{region}");
        }
    }
}
