//! `hello_lambda` on tokio's current-thread runtime, which starts no worker threads: the second
//! baseline of the init-time bench (`benches/init.rs`). Not an eventfn app.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(hello)).await
}
