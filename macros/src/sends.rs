//! The sends a handler's body makes to a name written as a string literal — `publish("...")`,
//! `publish_many("...", ...)`, `enqueue("...")`, `enqueue_many("...", ...)`, as free functions
//! or as `ctx.publish(...)` — recorded with the handler so that `cargo eventfn build` and the
//! sandbox can warn of a name the app lacks (a misspelt queue), pointing at the literal.
//!
//! Read from the tokens the attribute is given, not from source files: what a macro inside the
//! body expands to, a name in a variable, or a send from another function are not seen, and need
//! not be: this is a warning, the sandbox and the test kit refuse such a send at run time.

use eventfn_core::Kind;
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::LitStr;

/// Each send's kind and name literal, in the order they appear.
pub fn find(body: TokenStream) -> Vec<(Kind, LitStr)> {
    let mut found = Vec::new();
    walk(body, &mut found);
    found
}

fn walk(tokens: TokenStream, found: &mut Vec<(Kind, LitStr)>) {
    let mut kind = None;
    for tree in tokens {
        match &tree {
            TokenTree::Ident(ident) => {
                kind = match ident.to_string().as_str() {
                    "publish" | "publish_many" => Some(Kind::Event),
                    "enqueue" | "enqueue_many" => Some(Kind::Queue),
                    _ => None,
                };
                continue;
            }
            TokenTree::Group(group) => {
                if let (Some(kind), Delimiter::Parenthesis) = (kind, group.delimiter())
                    && let Some(TokenTree::Literal(literal)) = group.stream().into_iter().next()
                    && let Ok(name) = syn::parse2::<LitStr>(TokenTree::Literal(literal).into())
                {
                    found.push((kind, name));
                }
                walk(group.stream(), found);
            }
            _ => {}
        }
        kind = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn names(body: TokenStream) -> Vec<(Kind, String)> {
        find(body)
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
            if ok { enqueue(r#"thumbnails"#, &job).await? }
            let name = "dynamic";
            eventfn::publish(name, &1).await?;
            publish_many(&names, []);
        }};
        assert_eq!(
            names(body),
            [
                (Kind::Event, "account-check-email".to_owned()),
                (Kind::Event, "audit".to_owned()),
                (Kind::Queue, "invoices".to_owned()),
                (Kind::Queue, "thumbnails".to_owned()),
            ]
        );
    }

    #[test]
    fn other_calls_and_non_string_literals_are_not_sends() {
        let body = quote! {{
            let publish = 1;
            log("publish");
            republish("x");
            publish(42);
            publish(b"bytes");
        }};
        assert_eq!(names(body), []);
    }
}
