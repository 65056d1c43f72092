//! HiGHS solves on threads of their own, waited for only so long: HiGHS 1.16 does not always
//! keep its time limit (a RINS sub-MIP's presolve, `strengthenInequalities`, was seen looping
//! for minutes on a cloud-balancing neighbourhood), and a placement must keep its own.

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A solve to run on a thread of its own.
pub(super) type Job<T> = Box<dyn FnOnce() -> T + Send>;

/// Runs each job on a thread of its own and returns their answers in the order they come,
/// once all have answered or `give_up` has passed. A job still running then is left to finish
/// on its own, detached, and its answer is dropped; so is a job whose thread cannot start.
pub(super) fn answers<T: Send + 'static>(jobs: Vec<Job<T>>, give_up: Duration) -> Vec<T> {
    let until = Instant::now() + give_up;
    let (sender, receiver) = mpsc::channel();
    let mut waiting = 0;
    for job in jobs {
        let sender = sender.clone();
        let spawned = std::thread::Builder::new()
            .name("vksplan-solve".into())
            .spawn(move || {
                let _ = sender.send(job());
            });
        waiting += usize::from(spawned.is_ok());
    }
    let mut answers = Vec::new();
    while waiting > 0 {
        let Ok(answer) = receiver.recv_timeout(until.saturating_duration_since(Instant::now()))
        else {
            break;
        };
        answers.push(answer);
        waiting -= 1;
    }
    answers
}
