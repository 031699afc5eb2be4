//! Fuzz target: see `wsmachine::fuzzing::inflate`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine::fuzzing::inflate(data));
