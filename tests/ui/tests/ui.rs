//! Compile-time diagnostics of `#[event]`, `#[schedule]` and `#[queue]`: every invalid name,
//! schedule, option, signature and type is a compile error on the offending token, with the
//! message snapshotted in `<group>/*.stderr`; and every valid shape compiles (`pass/`).
//!
//! Update the snapshots with `TRYBUILD=overwrite cargo test -p eventfn-ui-tests`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("names/*.rs");
    t.compile_fail("schedules/*.rs");
    t.compile_fail("options/*.rs");
    t.compile_fail("filters/*.rs");
    t.compile_fail("rules/*.rs");
    t.compile_fail("signatures/*.rs");
    t.compile_fail("types/*.rs");
    t.pass("pass/*.rs");
}
