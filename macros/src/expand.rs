//! Turns a checked handler into the user's function, unchanged, plus its registration: a
//! pointer-free JSON record in the `eventfn_manifest` link section (read by `cargo eventfn build`)
//! and an entry in the runtime's dispatch table (read by `eventfn::run`).

use eventfn_core::manifest::MANIFEST_VERSION;
use eventfn_core::{Kind, SECTION, validate_name};
use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Item, ItemFn, Type};

use crate::args::{self, Args};
use crate::errors::Errors;
use crate::signature::{self, Shape};

pub fn handler(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(kind, args, &mut errors);
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            // Not a function: say so, and give the item back untouched so it still compiles.
            not_a_function(kind, &item, &mut errors);
            let errors = errors.into_compile_errors();
            return quote!(#errors #item);
        }
    };
    let shape = signature::check(kind, &function, &mut errors);
    if kind.named_by_function() && !args.name_option {
        // Named after its function: that name must be valid too.
        let ident = &function.sig.ident;
        let fn_name = ident.to_string().trim_start_matches("r#").to_owned();
        if let Err(e) = validate_name(&fn_name) {
            errors.at(
                ident,
                format!(
                    "invalid {0} name: {e}; a {0} is named after its function unless it has `name = \"...\"`",
                    kind.as_str()
                ),
            );
        }
    }
    if !errors.is_empty() {
        // Keep the function as written so one mistake does not cascade into errors at its callers.
        let errors = errors.into_compile_errors();
        return quote!(#errors #function);
    }
    let registration = registration(kind, &args, &function, &shape);
    quote! {
        #function
        #registration
    }
}

/// Reports an attribute on something other than a function, on the item's keyword and name.
fn not_a_function(kind: Kind, item: &TokenStream, errors: &mut Errors) {
    fn at(keyword: impl ToTokens, name: &syn::Ident) -> TokenStream {
        quote!(#keyword #name)
    }
    let (tokens, what) = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(i)) => (at(i.struct_token, &i.ident), "a struct"),
        Ok(Item::Enum(i)) => (at(i.enum_token, &i.ident), "an enum"),
        Ok(Item::Union(i)) => (at(i.union_token, &i.ident), "a union"),
        Ok(Item::Trait(i)) => (at(i.trait_token, &i.ident), "a trait"),
        Ok(Item::Type(i)) => (at(i.type_token, &i.ident), "a type alias"),
        Ok(Item::Const(i)) => (at(i.const_token, &i.ident), "a constant"),
        Ok(Item::Static(i)) => (at(i.static_token, &i.ident), "a static"),
        Ok(Item::Mod(i)) => (at(i.mod_token, &i.ident), "a module"),
        Ok(Item::Impl(i)) => (i.impl_token.into_token_stream(), "an impl block"),
        _ => (item.clone(), "this item"),
    };
    errors.spanned(
        tokens,
        format!("{} goes on an `async fn`, not on {what}", kind.attribute()),
    );
}

/// Renders a type as the user wrote it, `Vec<Job>` or `HashMap<String, u32>`, with our own
/// spacing rules rather than rustc's token printer, whose spacing may change between toolchains
/// (and `eventfn.json` must be the same for the same code).
fn type_name(ty: &Type) -> String {
    fn print(tokens: TokenStream, out: &mut String) {
        let mut word_before = false;
        for tree in tokens {
            match tree {
                TokenTree::Ident(ident) => {
                    if word_before {
                        out.push(' ');
                    }
                    out.push_str(&ident.to_string());
                    word_before = true;
                }
                TokenTree::Literal(literal) => {
                    if word_before {
                        out.push(' ');
                    }
                    out.push_str(&literal.to_string());
                    word_before = true;
                }
                TokenTree::Punct(punct) => {
                    let c = punct.as_char();
                    match c {
                        ',' | ';' => {
                            out.push(c);
                            out.push(' ');
                        }
                        '+' | '=' => {
                            out.push(' ');
                            out.push(c);
                            out.push(' ');
                        }
                        _ => out.push(c),
                    }
                    word_before = false;
                }
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::None => ("", ""),
                    };
                    out.push_str(open);
                    print(group.stream(), out);
                    out.push_str(close);
                    word_before = false;
                }
            }
        }
    }
    let mut out = String::new();
    print(ty.to_token_stream(), &mut out);
    out.trim_end().to_owned()
}

fn registration(kind: Kind, args: &Args, function: &ItemFn, shape: &Shape) -> TokenStream {
    let ident = &function.sig.ident;
    let fn_name = ident.to_string().trim_start_matches("r#").to_owned();
    let name = match kind {
        Kind::Schedule | Kind::Rule => args.name.clone().unwrap_or_else(|| fn_name.clone()),
        Kind::Event | Kind::Queue => args.name.clone().unwrap_or_default(),
    };
    let mut head = serde_json::json!({
        "v": MANIFEST_VERSION,
        "kind": kind.as_str(),
        "name": name,
        "payload": shape.payload.as_ref().map(type_name),
        "context": shape.context.is_some(),
        "options": args.options,
    });
    if let Some(schedule) = &args.schedule {
        head["schedule"] = schedule.clone().into();
    }
    if let Some(filter) = &args.filter {
        head["filter"] = filter.clone();
    }
    if let Some(bus) = &args.bus {
        head["bus"] = bus.clone().into();
    }
    if let Some(pattern) = &args.pattern {
        head["pattern"] = pattern.clone();
    }
    if let Some(timezone) = &args.timezone {
        head["timezone"] = timezone.clone().into();
    }
    if let Some(window) = args.flexible_window {
        head["flexible_window"] = window.into();
    }
    let mut head = head.to_string();
    head.pop(); // the closing brace: the source fields follow.
    let head = format!("{head},\"function\":\"");
    let tail = format!("::{fn_name}\",\"file\":\"");

    // The generated locals resolve in the macro's own context, whatever the spans of the user's
    // tokens around them (a handler written by a `macro_rules!` macro, say).
    let invocation = Ident::new("__eventfn_invocation", Span::mixed_site());
    let payload = Ident::new("__eventfn_payload", Span::mixed_site());
    let ctx = Ident::new("__eventfn_ctx", Span::mixed_site());
    let payload_arg = shape.payload.as_ref().map(|ty| {
        // Spanned on the user's type, so "cannot be deserialized" points at it.
        quote_spanned!(ty.span()=> ::eventfn::__private::decode::<#ty>(&#payload, &#ctx)?,)
    });
    let context_arg = shape
        .context
        .as_ref()
        .map(|ty| quote_spanned!(ty.span()=> ::eventfn::__private::context::<#ty>(#ctx),));
    let output = shape
        .output
        .as_ref()
        .expect("checked: a handler returns a Result");
    let call = quote_spanned! {output.span()=>
        ::eventfn::__private::into_result::<#output>(#ident(#payload_arg #context_arg).await)
    };

    // Spanned on the user's `async`, so "future cannot be sent between threads safely" points at
    // the handler rather than at the attribute.
    let boxed = quote_spanned! {function.sig.asyncness.span()=>
        ::std::boxed::Box::pin(async move {
            #[allow(unused_variables)] // a handler may take neither payload nor context
            let (#payload, #ctx) = #invocation.into_parts();
            #call
        })
    };

    // Each send to a literal name, its line and column those of the literal.
    // The name the handler gives its `Context` parameter, for `ctx.publish(...)`.
    let context = shape.context.as_ref().and_then(|context| {
        function.sig.inputs.iter().find_map(|input| match input {
            syn::FnArg::Typed(typed)
                if typed.ty.to_token_stream().to_string()
                    == context.to_token_stream().to_string() =>
            {
                match &*typed.pat {
                    syn::Pat::Ident(binding) => Some(binding.ident.to_string()),
                    _ => None,
                }
            }
            _ => None,
        })
    });
    let found = crate::sends::find(function.block.to_token_stream(), context.as_deref());
    let sends = found.iter().enumerate().map(|(i, (kind, literal))| {
        let open = format!(
            "{}{{\"kind\":\"{}\",\"name\":{},\"line\":",
            if i == 0 { ",\"sends\":[" } else { "," },
            kind.as_str(),
            serde_json::Value::from(literal.value()),
        );
        let line = quote_spanned!(literal.span()=> ::core::line!());
        let column = quote_spanned!(literal.span()=> ::core::column!());
        quote!(#open, #line, ",\"column\":", #column, "}",)
    });
    let close = if found.is_empty() { "" } else { "]" };

    let apple_section = format!("__DATA,{SECTION}");
    // The registration exists exactly when the function does.
    let cfgs = function.attrs.iter().filter(|a| a.path().is_ident("cfg"));

    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        const _: () = {
            const __EVENTFN_PIECES: &[::eventfn::__private::Piece] = &[
                ::eventfn::__private::Piece::raw(#head),
                ::eventfn::__private::Piece::escaped(::core::module_path!()),
                ::eventfn::__private::Piece::raw(#tail),
                ::eventfn::__private::Piece::escaped(::core::file!()),
                ::eventfn::__private::Piece::raw(::core::concat!(
                    "\",\"line\":", ::core::line!(), ",\"column\":", ::core::column!(),
                    #(#sends)* #close, "}\n"
                )),
            ];
            const __EVENTFN_LEN: ::core::primitive::usize =
                ::eventfn::__private::record_len(__EVENTFN_PIECES);

            #[used]
            #[cfg_attr(target_vendor = "apple", unsafe(link_section = #apple_section))]
            #[cfg_attr(not(target_vendor = "apple"), unsafe(link_section = #SECTION))]
            static __EVENTFN_RECORD: [::core::primitive::u8; __EVENTFN_LEN] =
                ::eventfn::__private::record::<__EVENTFN_LEN>(__EVENTFN_PIECES);

            #[::eventfn::__private::linkme::distributed_slice(::eventfn::__private::HANDLERS)]
            #[linkme(crate = ::eventfn::__private::linkme)]
            static __EVENTFN_HANDLER: ::eventfn::__private::Registered =
                ::eventfn::__private::Registered {
                    record: &__EVENTFN_RECORD,
                    call: __eventfn_call,
                };

            fn __eventfn_call(
                #invocation: ::eventfn::__private::Invocation,
            ) -> ::eventfn::__private::HandlerFuture {
                #boxed
            }
        };
    }
}
