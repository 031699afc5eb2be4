//! Tests of the deflate module that span several files.

mod codec;
mod memory;
mod negotiation;
mod reference;
