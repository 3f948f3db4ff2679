//! The registry server end to end: a real `airlock serve` on a loopback port, real
//! HTTP, real components built from source, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod audit;
mod bus;
mod deletion;
mod door;
mod egress;
mod fields;
mod front;
mod gate;
mod graphql;
mod harness;
mod hostile;
mod ingest;
mod interop;
mod lifecycle;
mod metrics;
mod nul;
mod openapi;
mod polls;
mod quarantine;
mod rls;
mod routes;
mod shapes;
mod status;
mod tokens;
mod trace;
