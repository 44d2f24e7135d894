// A handler stays an ordinary function that can be called and awaited directly, and is registered once.
use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use eventfn::{event, queue, schedule};
use serde::Deserialize;

#[derive(Deserialize)]
struct Signup {
    email: String,
}

#[event("signup")]
async fn check_email(signup: Signup) -> eventfn::Result<()> {
    if !signup.email.contains('@') {
        return Err(format!("`{}` is not an email address", signup.email).into());
    }
    Ok(())
}

#[queue("jobs")]
async fn count(job: Vec<u32>) -> Result<(), String> {
    if job.is_empty() {
        Err("no job".to_owned())
    } else {
        Ok(())
    }
}

#[schedule("rate(1 day)")]
pub async fn daily() -> eventfn::Result<()> {
    Ok(())
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the handler did not finish at once"),
    }
}

fn main() {
    let ok = Signup {
        email: "a@example.com".to_owned(),
    };
    assert!(block_on(check_email(ok)).is_ok());
    let bad = Signup {
        email: "nobody".to_owned(),
    };
    let error = block_on(check_email(bad)).unwrap_err();
    assert_eq!(error.to_string(), "`nobody` is not an email address");
    assert_eq!(block_on(count(vec![])), Err("no job".to_owned()));
    assert!(block_on(count(vec![1])).is_ok());
    assert!(block_on(daily()).is_ok());

    let mut registered: Vec<(String, &str)> = eventfn::handlers()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry.registration.kind.as_str().to_owned(),
                entry.registration.name.as_str(),
            )
        })
        .collect();
    registered.sort();
    assert_eq!(
        registered,
        [
            ("event".to_owned(), "signup"),
            ("queue".to_owned(), "jobs"),
            ("schedule".to_owned(), "daily"),
        ]
    );
}
