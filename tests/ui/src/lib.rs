//! The cases are `<group>/*.rs` beside this crate; `tests/ui.rs` runs them with trybuild.
