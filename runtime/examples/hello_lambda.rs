//! A hand-written `lambda_runtime` hello world with no SDK, as lambda_runtime's README writes it
//! (`#[tokio::main]`, like the `welcome` example's `main`): the baseline of the init-time bench
//! (`benches/init.rs`). Not an eventfn app.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(hello)).await
}
