//! Checks a handler's signature and reads its shape: `async fn(T)`, `async fn(T, Context)`,
//! `async fn(Context)` or `async fn()`, returning a `Result`.
//!
//! The checks are syntactic, on the tokens the user wrote; what only types can tell (is `T`
//! deserializable, is the error `Display`, is `Context` really `eventfn::Context`) is left to
//! rustc through bounds the generated code puts on the user's own tokens.

use eventfn_core::Kind;
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::errors::Errors;

/// The parts of a handler the expansion needs.
pub struct Shape {
    pub payload: Option<Type>,
    pub context: Option<Type>,
    pub output: Option<Type>,
}

/// Whether a type is written as `Context` (any path ending in it: `eventfn::Context`).
fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Context" && s.arguments.is_none()),
        _ => false,
    }
}

pub fn check(kind: Kind, f: &ItemFn, errors: &mut Errors) -> Shape {
    let sig = &f.sig;
    let mut shape = Shape {
        payload: None,
        context: None,
        output: None,
    };
    if sig.asyncness.is_none() {
        errors.at(sig.fn_token, "eventfn handlers must be `async fn`");
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.at(unsafety, "eventfn handlers cannot be `unsafe fn`");
    }
    if let Some(constness) = &sig.constness {
        errors.at(constness, "eventfn handlers cannot be `const fn`");
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "eventfn handlers cannot have an `extern` ABI");
    }
    let generic =
        "eventfn handlers cannot be generic: the runtime calls them with one concrete payload type";
    if !sig.generics.params.is_empty() {
        errors.spanned(&sig.generics, generic);
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanned(where_clause, generic);
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "eventfn handlers cannot be variadic");
    }

    for (index, input) in sig.inputs.iter().enumerate() {
        let ty = match input {
            FnArg::Receiver(receiver) => {
                errors.spanned(
                    receiver,
                    "eventfn handlers must be free functions: `self` cannot be passed to a handler",
                );
                continue;
            }
            FnArg::Typed(pat) => &*pat.ty,
        };
        if index >= 2 {
            errors.spanned(
                input,
                "eventfn handlers take at most two arguments: the payload, then `Context`",
            );
            continue;
        }
        if let Type::Reference(reference) = ty
            && is_context(&reference.elem)
        {
            errors.spanned(
                ty,
                "`Context` is passed by value: write `ctx: Context`, not a reference",
            );
            continue;
        }
        if is_context(ty) {
            if shape.context.is_some() {
                errors.spanned(ty, "`Context` is taken twice");
            } else {
                shape.context = Some(ty.clone());
            }
            continue;
        }
        if shape.context.is_some() {
            errors.spanned(
                ty,
                "the payload comes before `Context`: `async fn(payload: T, ctx: Context)`",
            );
            continue;
        }
        if shape.payload.is_some() {
            errors.spanned(
                ty,
                "the second argument of a handler must be `eventfn::Context`; put the data in one payload type",
            );
            continue;
        }
        if kind == Kind::Schedule {
            errors.spanned(
                ty,
                "schedules take no payload: a scheduled handler is `async fn()` or `async fn(ctx: Context)`",
            );
            continue;
        }
        if has_impl_trait(ty) {
            errors.spanned(ty, "the payload must be a concrete type, not `impl Trait`");
            continue;
        }
        if let Type::Reference(_) = ty {
            errors.spanned(
                ty,
                "the payload must be an owned type (such as `String` or your struct), not a reference",
            );
            continue;
        }
        shape.payload = Some(ty.clone());
    }

    match &sig.output {
        ReturnType::Default => errors.at(
            sig.paren_token.span.close(),
            "eventfn handlers must return a `Result`, like `-> eventfn::Result<()>`, so failures are retried",
        ),
        ReturnType::Type(_, ty) => {
            let is_result = match &**ty {
                Type::Path(p) => p
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Result"),
                _ => false,
            };
            if !is_result {
                errors.spanned(
                    ty,
                    "eventfn handlers must return a `Result`, like `eventfn::Result<()>`, so failures are retried",
                );
            } else if has_impl_trait(ty) {
                errors.spanned(
                    ty,
                    "the return type of a handler must be written out, without `impl Trait`, like `Result<(), String>`",
                );
            } else {
                shape.output = Some((**ty).clone());
            }
        }
    }
    shape
}

/// Whether `impl Trait` appears anywhere in a type, as in `Vec<impl Trait>`: the generated code
/// names the type in a path, where rustc does not allow it.
fn has_impl_trait(ty: &Type) -> bool {
    fn scan(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => ident == "impl",
            TokenTree::Group(group) => scan(group.stream()),
            _ => false,
        })
    }
    scan(ty.to_token_stream())
}
