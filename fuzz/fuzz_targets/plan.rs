//! The whole plan with a tiny time limit: any bytes give a plan document (invalid, infeasible,
//! timeout, feasible or optimal), never a panic, and every plan with a placement passes the
//! verifier (an internal error would be a bug).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let options = vksplan::solver::Options {
        time_limit_s: Some(0.05),
        ..Default::default()
    };
    if let Err(error) = vksplan::plan_bytes(data, &options) {
        panic!("internal error: {error}");
    }
});
