//! Fuzz target: see `wsmachine::fuzzing::frame_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine::fuzzing::frame_header(data));
