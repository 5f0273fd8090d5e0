//! `sim-models`: the components that run on `sim-core`.
//!
//! - [`station`]: the queueing core (c servers, FIFO/LIFO, capacity K) and a
//!   standalone station model validated against queueing theory.

pub mod policy;
pub mod station;
