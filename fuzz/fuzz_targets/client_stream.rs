//! Fuzz target: see `wsmachine::fuzzing::client_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine::fuzzing::client_stream(data));
