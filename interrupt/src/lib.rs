//! HiGHS solves that another thread can stop, HiGHS models that may move between threads, and
//! an exit that a HiGHS solve still running cannot crash.
//!
//! The placement races two HiGHS instances with different random seeds on the same model
//! (one per core) and keeps the first proof; the other must then stop at once. The `highs`
//! crate offers neither a way to interrupt a solve nor `Send` models, so this crate adds both,
//! through HiGHS's C API (`Highs_setCallback` with the MIP interrupt callback).

#![allow(unsafe_code)]

use highs::{HighsStatus, Model, SolvedModel};
use highs_sys::{
    kHighsCallbackMipInterrupt, HighsCallbackDataIn, HighsCallbackDataOut, Highs_setCallback,
    Highs_startCallback, Highs_stopCallback,
};
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};

/// A HiGHS model that may move to another thread.
#[derive(Debug)]
pub struct Movable(pub Model);

// SAFETY: a HiGHS instance keeps no reference to the thread that built or last ran it (HiGHS's
// task executor is looked up per thread at each run), and `Model` owns its instance: whoever
// holds the `Movable` is the only one that can touch the instance, from whichever thread.
unsafe impl Send for Movable {}

/// Solves `model` as [`Model::try_solve`] does, but stops (HiGHS status `ReachedInterrupt`,
/// with the best solution so far) soon after `stop` becomes true: HiGHS asks at each of its
/// MIP solver's limit checks (between nodes and between rounds of root cuts), not inside one
/// LP, nor inside a sub-MIP (see `vksplan_solver`'s watchdog for those).
pub fn solve_until(mut model: Model, stop: &AtomicBool) -> Result<SolvedModel, HighsStatus> {
    let highs = model.as_mut_ptr();
    let data = std::ptr::from_ref(stop).cast_mut().cast::<c_void>();
    // SAFETY: `highs` is the live instance `model` owns; `data` points to `stop`, which this
    // call borrows for longer than the solve, and the callback is removed before returning.
    let started = unsafe {
        Highs_setCallback(highs, Some(interrupt), data) == 0
            && Highs_startCallback(highs, kHighsCallbackMipInterrupt) == 0
    };
    // A model whose callback could not be set still solves, only without being stoppable.
    let solved = model.try_solve();
    if started {
        if let Ok(solved) = &solved {
            // The instance lives on in `solved` (the same pointer): unhook `stop` from it.
            let highs = solved.as_ptr().cast_mut();
            // SAFETY: `highs` is the live instance `solved` owns; no solve is running.
            unsafe {
                Highs_stopCallback(highs, kHighsCallbackMipInterrupt);
                Highs_setCallback(highs, None, std::ptr::null_mut());
            }
        }
    }
    solved
}

/// Ends the process at once with exit status `code`, without running exit handlers or static
/// destructors. For a process that must not wait any longer for a HiGHS solve it gave up on:
/// the normal exit destroys HiGHS's static objects while that solve still uses them (seen as
/// `double free detected` aborts). Whoever calls it flushes what it wrote first.
pub fn exit_at_once(code: i32) -> ! {
    // SAFETY: `_exit` takes any status and ends the process; nothing of this process runs after
    // it, so no invariant of Rust's can be broken by the destructors it skips.
    unsafe { libc::_exit(code) }
}

/// HiGHS's callback: asks the MIP solver to stop once the `AtomicBool` behind `data` is set.
unsafe extern "C" fn interrupt(
    kind: c_int,
    _message: *const c_char,
    _out: *const HighsCallbackDataOut,
    data_in: *mut HighsCallbackDataIn,
    data: *mut c_void,
) {
    if kind != kHighsCallbackMipInterrupt || data_in.is_null() || data.is_null() {
        return;
    }
    // SAFETY: `data` is the `AtomicBool` that `solve_until` borrows while HiGHS runs.
    let stop = unsafe { &*data.cast::<AtomicBool>() };
    if stop.load(Ordering::Relaxed) {
        // SAFETY: HiGHS passes a valid input record to fill for the duration of the call.
        unsafe { (*data_in).user_interrupt = 1 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use highs::{HighsModelStatus, RowProblem, Sense};

    /// A knapsack-like MIP that takes HiGHS a while: many binaries, one dense row.
    fn model() -> Model {
        let mut problem = RowProblem::default();
        let columns: Vec<_> = (0..60)
            .map(|i| problem.add_integer_column(-f64::from(17 + (i * 7919) % 101), 0..=1))
            .collect();
        let factors: Vec<_> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, f64::from(11 + ((i as u32) * 104_729) % 97)))
            .collect();
        problem.add_row(..=1000.5, factors);
        let mut model = problem.optimise(Sense::Minimise);
        model.make_quiet();
        model
    }

    #[test]
    fn a_solve_asked_to_stop_before_it_starts_stops_interrupted() {
        let stop = AtomicBool::new(true);
        let solved = solve_until(model(), &stop)
            .unwrap_or_else(|e| panic!("HiGHS refused the model: {e:?}"));
        assert_eq!(solved.status(), HighsModelStatus::ReachedInterrupt);
    }

    #[test]
    fn a_solve_not_asked_to_stop_runs_to_its_proof_and_the_instance_solves_again() {
        let running = AtomicBool::new(false);
        let solved = solve_until(model(), &running)
            .unwrap_or_else(|e| panic!("HiGHS refused the model: {e:?}"));
        assert_eq!(solved.status(), HighsModelStatus::Optimal);
        // The same instance again, now with a flag already set: it sees the new flag.
        let stopped = AtomicBool::new(true);
        let again = solve_until(Model::from(solved), &stopped)
            .unwrap_or_else(|e| panic!("HiGHS refused the model: {e:?}"));
        assert_eq!(again.status(), HighsModelStatus::ReachedInterrupt);
    }

    #[test]
    fn a_model_moves_to_another_thread_and_back() {
        let stop = AtomicBool::new(false);
        let moved = Movable(model());
        let status = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // The whole `Movable` moves in, not only the model inside it.
                    let moved = moved;
                    let Movable(model) = moved;
                    solve_until(model, &stop).map(|solved| solved.status())
                })
                .join()
        });
        assert!(matches!(status, Ok(Ok(HighsModelStatus::Optimal))));
    }
}
