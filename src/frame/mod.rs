//! Frame layer: header decode/encode and payload masking over plain slices.
//!
//! Nothing here allocates or knows about connections; the connection layer
//! adds the rules that depend on role and negotiated extensions.

mod header;
mod mask;

pub use header::{Decoded, FrameHeader, HeaderError, MAX_HEADER_LEN, OpCode};
pub use mask::{apply_mask, mask_into};
