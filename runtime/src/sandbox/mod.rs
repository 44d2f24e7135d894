//! The local sandbox that `cargo eventfn dev` runs: events, queues, schedules, delays, retries
//! and dead letters, offline and durable across a restart.
//!
//! This version holds its durable [`store`]; the bus, the scheduler and `cargo eventfn dev`
//! build on it.

pub mod store;
