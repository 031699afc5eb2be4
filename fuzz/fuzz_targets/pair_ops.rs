//! Fuzz target: see `wsmachine::fuzzing::pair_ops`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsmachine::fuzzing::pair_ops(data));
