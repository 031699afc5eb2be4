//! Fuzz target: see `wsmachine::fuzzing::server_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine::fuzzing::server_stream(data));
