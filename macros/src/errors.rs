//! Collects every error of one attribute so a single compile reports them all.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

#[derive(Default)]
pub struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    pub fn at(&mut self, span: impl syn::spanned::Spanned, message: impl Display) {
        self.errors.push(syn::Error::new(span.span(), message));
    }

    /// An error on every token of `tokens`, first to last: `&str` or `impl Trait` underlined
    /// whole, where [`Errors::at`] on stable Rust only reaches their first token.
    pub fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn into_compile_errors(self) -> TokenStream {
        self.errors
            .into_iter()
            .map(syn::Error::into_compile_error)
            .collect()
    }
}
