//! The decoder and validation: any bytes give an inventory or errors, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = vksplan::model::load_bytes(data);
});
