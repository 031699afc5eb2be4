//! `Sec-WebSocket-Extensions` offers: an extension name with its parameters.

use alloc::string::String;
use alloc::vec::Vec;

/// One extension offered (or accepted) in a `Sec-WebSocket-Extensions` header,
/// for example `permessage-deflate; client_max_window_bits`.
///
/// Names and parameter names are kept as they appeared on the wire; compare
/// them ASCII-case-insensitively. A parameter given as a quoted string has its
/// quotes and escapes removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension token, such as `permessage-deflate`.
    pub name: String,
    /// The parameters in wire order: name and optional value.
    pub params: Vec<(String, Option<String>)>,
}
