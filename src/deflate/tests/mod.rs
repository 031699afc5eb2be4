//! Tests of the deflate module that span several files.

mod codec;
mod negotiation;
mod reference;
