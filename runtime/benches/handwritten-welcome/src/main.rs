//! The welcome example's six handlers by hand: one binary for every function, the handler named
//! by the function's environment (`HANDLER`), each reading its SQS queue (events arrive there from
//! SNS as raw messages; schedules from EventBridge), failing records reported back one by one.
//! `send_welcome` publishes to the topic in `TOPIC_ACCOUNT_CHECK_EMAIL`.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

#[derive(Debug, Serialize, Deserialize)]
struct Signup {
    user_id: String,
    email: String,
}

#[derive(Debug, Deserialize)]
struct Job {
    bucket: String,
    key: String,
    width: u32,
}

static SNS: OnceCell<aws_sdk_sns::Client> = OnceCell::const_new();

async fn sns() -> &'static aws_sdk_sns::Client {
    SNS.get_or_init(|| async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(https_client())
            .load()
            .await;
        aws_sdk_sns::Client::new(&config)
    })
    .await
}

/// HTTPS on rustls with ring, as eventfn's runtime builds it.
fn https_client() -> aws_sdk_sns::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

async fn send_welcome(signup: Signup, id: &str) -> Result<(), Error> {
    println!("welcome, {} (event {id})", signup.email);
    let topic = std::env::var("TOPIC_ACCOUNT_CHECK_EMAIL")?;
    sns()
        .await
        .publish()
        .topic_arn(topic)
        .message(serde_json::to_string(&signup)?)
        .send()
        .await?;
    Ok(())
}

async fn audit(signup: Signup) -> Result<(), Error> {
    println!("audit: user {} signed up", signup.user_id);
    Ok(())
}

async fn check_email(signup: Signup) -> Result<(), Error> {
    if !signup.email.contains('@') {
        return Err(format!("`{}` is not an email address", signup.email).into());
    }
    println!("checked {}", signup.email);
    Ok(())
}

async fn thumbnail(job: Job) -> Result<(), Error> {
    println!(
        "thumbnail of s3://{}/{} at {}px",
        job.bucket, job.key, job.width
    );
    Ok(())
}

async fn one(handler: &str, id: &str, body: &str) -> Result<(), Error> {
    match handler {
        "send_welcome" => send_welcome(serde_json::from_str(body)?, id).await,
        "audit" => audit(serde_json::from_str(body)?).await,
        "check_email" => check_email(serde_json::from_str(body)?).await,
        "thumbnail" => thumbnail(serde_json::from_str(body)?).await,
        "daily_cleanup" => {
            println!("cleaning up");
            Ok(())
        }
        "noon_report" => {
            println!("noon report");
            Ok(())
        }
        other => Err(format!("no handler `{other}`").into()),
    }
}

async fn handle(event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let handler = std::env::var("HANDLER")?;
    let mut response = SqsBatchResponse::default();
    for record in event.payload.records {
        let id = record.message_id.unwrap_or_default();
        let body = record.body.unwrap_or_default();
        if let Err(error) = one(&handler, &id, &body).await {
            eprintln!("{handler} failed on {id}: {error}");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
