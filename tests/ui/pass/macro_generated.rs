// Handlers written by a `macro_rules!` macro, with the payload type passed in, and handlers
// behind `#[cfg]`: the registration exists exactly when the function does.
use eventfn::{Context, event};

macro_rules! subscriber {
    ($name:ident, $event:literal, $payload:ty) => {
        #[event($event)]
        async fn $name(payload: $payload, ctx: Context) -> eventfn::Result<()> {
            let _ = (payload, ctx.attempt());
            Ok(())
        }
    };
}

subscriber!(on_signup, "account-signup", String);
subscriber!(on_order, "order.placed", Vec<u32>);

#[event("never-compiled")]
#[cfg(any())]
async fn switched_off(payload: u32) -> eventfn::Result<()> {
    let _ = payload;
    Ok(())
}

fn main() {
    let functions: Vec<&str> = eventfn::handlers()
        .unwrap()
        .iter()
        .map(|e| e.registration.function.as_str())
        .collect();
    assert_eq!(functions.len(), 2, "{functions:?}");
    assert!(functions.iter().any(|f| f.ends_with("::on_signup")), "{functions:?}");
    assert!(functions.iter().any(|f| f.ends_with("::on_order")), "{functions:?}");
}
