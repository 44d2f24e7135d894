//! The sends a handler's body makes to a name written as a string literal — `publish("...")`,
//! `publish_many("...", ...)`, `enqueue("...")`, `enqueue_many("...", ...)`, as free functions
//! or as `ctx.publish(...)`, and `put_event("bus", ...)`, `put_events("bus", ...)` — recorded with the handler so that `cargo eventfn build` and the
//! sandbox can warn of a name the app lacks (a misspelt queue), pointing at the literal.
//!
//! Read from the tokens the attribute is given, not from source files: what a macro inside the
//! body expands to, a name in a variable, or a send from another function are not seen, and need
//! not be: this is a warning, the sandbox and the test kit refuse such a send at run time.

use eventfn_core::Kind;
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::LitStr;

/// Each send's kind and name literal, in the order they appear: calls of `eventfn::publish`
/// (and the other three) by that path, and method calls on the handler's `Context` parameter,
/// named `context` (`ctx.publish(...)`). Another library's `publish("...")` (a NATS or Redis
/// client's, say) is not a send of eventfn's, and neither is a bare `publish(...)`, which may be
/// anyone's.
pub fn find(body: TokenStream, context: Option<&str>) -> Vec<(Kind, LitStr)> {
    let mut found = Vec::new();
    walk(body, context, &mut found);
    found
}

fn walk(tokens: TokenStream, context: Option<&str>, found: &mut Vec<(Kind, LitStr)>) {
    // The last three tokens before the current one: what a call's name is reached through.
    let mut before: [Option<TokenTree>; 3] = [None, None, None];
    let mut kind = None;
    for tree in tokens {
        match &tree {
            TokenTree::Ident(ident) => {
                let named = match ident.to_string().as_str() {
                    "publish" | "publish_many" => Some(Kind::Event),
                    "enqueue" | "enqueue_many" => Some(Kind::Queue),
                    // The literal is the bus.
                    "put_event" | "put_events" => Some(Kind::Rule),
                    _ => None,
                };
                kind = named.filter(|_| eventfns(&before, context));
            }
            TokenTree::Group(group) => {
                if let (Some(kind), Delimiter::Parenthesis) = (kind, group.delimiter())
                    && let Some(TokenTree::Literal(literal)) = group.stream().into_iter().next()
                    && let Ok(name) = syn::parse2::<LitStr>(TokenTree::Literal(literal).into())
                {
                    found.push((kind, name));
                }
                walk(group.stream(), context, found);
                kind = None;
            }
            _ => kind = None,
        }
        before.rotate_left(1);
        before[2] = Some(tree);
    }
}

/// Whether the tokens `before` a call's name reach eventfn's: `eventfn::` or `<context>.`.
fn eventfns(before: &[Option<TokenTree>; 3], context: Option<&str>) -> bool {
    let is = |tree: &Option<TokenTree>, text: &str| match tree {
        Some(TokenTree::Ident(ident)) => ident == text,
        Some(TokenTree::Punct(punct)) => text.len() == 1 && text.starts_with(punct.as_char()),
        _ => false,
    };
    let path = is(&before[0], "eventfn") && is(&before[1], ":") && is(&before[2], ":");
    let method = context.is_some_and(|context| is(&before[1], context) && is(&before[2], "."));
    path || method
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn names(body: TokenStream) -> Vec<(Kind, String)> {
        find(body, Some("ctx"))
            .into_iter()
            .map(|(kind, literal)| (kind, literal.value()))
            .collect()
    }

    #[test]
    fn literal_names_of_every_send_form_are_found() {
        let body = quote! {{
            ctx.publish("account-check-email", &signup).await?;
            eventfn::publish("audit", &signup).after("5 minutes").await?;
            eventfn::enqueue_many("invoices", &jobs).await?;
            eventfn::put_event("budgets", "BUDGET_ANALYSIS", &budget).source("x").await?;
            if ok { ::eventfn::enqueue(r#"thumbnails"#, &job).await? }
            let name = "dynamic";
            eventfn::publish(name, &1).await?;
            eventfn::publish_many(&names, []);
        }};
        assert_eq!(
            names(body),
            [
                (Kind::Event, "account-check-email".to_owned()),
                (Kind::Event, "audit".to_owned()),
                (Kind::Queue, "invoices".to_owned()),
                (Kind::Rule, "budgets".to_owned()),
                (Kind::Queue, "thumbnails".to_owned()),
            ]
        );
    }

    #[test]
    fn other_calls_and_non_string_literals_are_not_sends() {
        let body = quote! {{
            let publish = 1;
            log("publish");
            eventfn::republish("x");
            eventfn::publish(42);
            eventfn::publish(b"bytes");
            // Another library's, or anyone's.
            nats.publish("orders.created", payload).await?;
            redis::publish("chan", 1);
            publish("bare");
            other.ctx.publish_x("y");
        }};
        assert_eq!(names(body), []);
        // Without a Context parameter, no method call is eventfn's.
        let body = quote! {{ ctx.publish("account-check-email", &1).await?; }};
        assert!(find(body, None).is_empty());
    }
}
