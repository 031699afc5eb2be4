//! Fuzz target: see `wsmachine::fuzzing::handshake_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine::fuzzing::handshake_request(data));
