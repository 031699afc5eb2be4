//! [`PmdParams`]: the outcome of a permessage-deflate negotiation.

use super::{Compressor, Decompressor, DeflateConfig};

/// Which end of the connection this endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The endpoint that sent the opening handshake request.
    Client,
    /// The endpoint that answered it.
    Server,
}

/// The parameters one direction of the connection compresses with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Direction {
    /// The largest LZ77 window, as log2 of bytes (8..=15).
    pub max_window_bits: u8,
    /// Whether the compressor starts every message with an empty window.
    pub no_context_takeover: bool,
}

/// The negotiated permessage-deflate parameters, in the effect they have.
///
/// Each field says what the named endpoint's *compressor* does. Where an
/// endpoint limits itself more than the wire says (an endpoint may always use
/// a smaller window and drop its context, RFC 7692 §7.1), the field holds the
/// stricter value that it actually applies, so both ends of one connection may
/// hold slightly different `PmdParams`; each is right about what it does and
/// what it may receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PmdParams {
    /// What the client's compressor uses (what the server decompresses).
    pub client: Direction,
    /// What the server's compressor uses (what the client decompresses).
    pub server: Direction,
}

impl PmdParams {
    /// The parameters of the compressor that `side` sends with.
    pub const fn outgoing(&self, side: Side) -> Direction {
        match side {
            Side::Client => self.client,
            Side::Server => self.server,
        }
    }

    /// The parameters of the compressor that the peer of `side` sends with,
    /// which `side`'s decompressor receives.
    pub const fn incoming(&self, side: Side) -> Direction {
        match side {
            Side::Client => self.server,
            Side::Server => self.client,
        }
    }

    /// A compressor for what `side` sends.
    pub fn compressor(&self, side: Side, config: &DeflateConfig) -> Compressor {
        Compressor::new(self.outgoing(side), config)
    }

    /// A decompressor for what `side` receives.
    pub fn decompressor(&self, side: Side, config: &DeflateConfig) -> Decompressor {
        Decompressor::new(self.incoming(side), config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions() {
        let p = PmdParams {
            client: Direction {
                max_window_bits: 9,
                no_context_takeover: true,
            },
            server: Direction {
                max_window_bits: 15,
                no_context_takeover: false,
            },
        };
        assert_eq!(p.outgoing(Side::Client).max_window_bits, 9);
        assert_eq!(p.incoming(Side::Server).max_window_bits, 9);
        assert_eq!(p.outgoing(Side::Server), p.incoming(Side::Client));
        assert!(!p.incoming(Side::Client).no_context_takeover);
    }
}
