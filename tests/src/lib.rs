//! Integration and end-to-end tests of eventfn live in `tests/`; this crate has no code of its own.
