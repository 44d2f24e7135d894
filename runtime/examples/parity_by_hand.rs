//! The hand-written side of the parity bench (`benches/parity.rs`): the same handler on
//! `lambda_runtime`, `aws_lambda_events` and `serde_json`, as their READMEs write one. Not an
//! eventfn app.

#[path = "parity/order.rs"]
mod order;

use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use order::{Order, handle};

async fn placed(event: LambdaEvent<SnsEvent>) -> Result<(), Error> {
    for record in event.payload.records {
        let order: Order = serde_json::from_str(&record.sns.message)?;
        std::hint::black_box(handle(&order));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(placed)).await
}
