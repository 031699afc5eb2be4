//! permessage-deflate (RFC 7692) (work in progress).
