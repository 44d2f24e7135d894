//! Compile-time diagnostics of `#[event]`, `#[schedule]` and `#[queue]`: every invalid name,
//! schedule, option, signature and type is a compile error on the offending token, with the
//! message snapshotted in `ui/**/*.stderr`; and every valid shape compiles (`ui/pass`).
//!
//! Update the snapshots with `TRYBUILD=overwrite cargo test -p eventfn-tests --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/names/*.rs");
    t.compile_fail("ui/schedules/*.rs");
    t.compile_fail("ui/options/*.rs");
    t.compile_fail("ui/signatures/*.rs");
    t.compile_fail("ui/types/*.rs");
    t.pass("ui/pass/*.rs");
}
