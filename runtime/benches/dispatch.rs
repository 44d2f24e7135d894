//! Dispatch of one SNS record into a typed handler, eventfn against a hand-written
//! `lambda_runtime` handler doing the same work: the body bytes Lambda hands the runtime are
//! parsed (by eventfn itself, `Incoming::from_slice`, which reads any body and says what is wrong
//! with a bad one; `LambdaEvent<SnsEvent>` for the hand-written one), the message is deserialized
//! into the handler's type, and the handler runs.
//!
//! Run: `cargo bench -p eventfn --bench dispatch`; compare `eventfn/<size>` with
//! `hand-written/<size>` in the same run (the ratio is the figure; wall times here vary ±25 %).

use std::hint::black_box;

use aws_lambda_events::event::sns::SnsEvent;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventfn::lambda::{Dispatcher, Incoming, select};
use serde_json::Value;

#[path = "../examples/parity/order.rs"]
mod order;

use order::{Item, Order, handle};

#[eventfn::event("order.placed")]
async fn eventfn_handler(order: Order) -> eventfn::Result<()> {
    black_box(handle(&order));
    Ok(())
}

async fn hand_written(
    event: lambda_runtime::LambdaEvent<SnsEvent>,
) -> Result<(), lambda_runtime::Error> {
    for record in event.payload.records {
        let order: Order = serde_json::from_str(&record.sns.message)?;
        black_box(handle(&order));
    }
    Ok(())
}

/// An order whose JSON is about `bytes` long.
fn order(bytes: usize) -> Order {
    let item = |n: usize| Item {
        sku: format!("SKU-{n:06}"),
        description: "A thing to buy, described at some length for realism".to_owned(),
        quantity: (n % 5) as u32 + 1,
        price_cents: 1999 + n as u64,
    };
    let per_item = serde_json::to_string(&item(0)).unwrap().len() + 1;
    Order {
        id: "o-123456".to_owned(),
        customer: "c-987654".to_owned(),
        email: "someone@example.com".to_owned(),
        items: (0..bytes / per_item).map(item).collect(),
    }
}

/// The SNS event Lambda delivers for a publish of `order`, as bytes.
fn sns_body(order: &Order) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sns.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["Records"][0]["Sns"]["Message"] = serde_json::to_string(order).unwrap().into();
    event["Records"][0]["Sns"]["MessageAttributes"]["eventfn.name"]["Value"] =
        "order.placed".into();
    serde_json::to_vec(&event).unwrap()
}

fn dispatch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dispatcher: Dispatcher = match select(
        eventfn::handlers().unwrap(),
        Some("dispatch::eventfn_handler"),
    ) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let mut group = c.benchmark_group("sns-dispatch");
    for (label, size) in [("1KB", 1_024), ("100KB", 100 * 1_024)] {
        let body = sns_body(&order(size));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("eventfn", label), &body, |b, body| {
            b.iter(|| {
                runtime.block_on(async {
                    let payload = Incoming::from_slice(black_box(body));
                    dispatcher.dispatch(payload, "req-1", 0).await.unwrap()
                })
            })
        });
        group.bench_with_input(BenchmarkId::new("hand-written", label), &body, |b, body| {
            b.iter(|| {
                runtime.block_on(async {
                    let payload: SnsEvent = serde_json::from_slice(black_box(body)).unwrap();
                    let event = lambda_runtime::LambdaEvent::new(
                        payload,
                        lambda_runtime::Context::default(),
                    );
                    hand_written(event).await.unwrap()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
