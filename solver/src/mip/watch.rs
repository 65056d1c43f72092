//! HiGHS solves on threads of their own, waited for only so long: HiGHS 1.16 does not always
//! keep its time limit (a RINS sub-MIP's presolve, `strengthenInequalities`, was seen looping
//! for minutes on a cloud-balancing neighbourhood), and a placement must keep its own.
//!
//! A solve given up on is asked to stop (HiGHS's MIP interrupt, see `vksplan_interrupt`) and
//! counted until its thread ends: a process must not exit while HiGHS still runs on another
//! thread, since exiting destroys HiGHS's static objects under it (the test binary that first
//! gave up on a solve aborted at exit with `double free detected`). [`settle`] waits for them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A solve to run on a thread of its own. It should stop soon after its flag turns true: when
/// the watch gives up on it, or when another job of the same call sets the flag (a racer that
/// proved its answer).
pub(super) type Job<T> = Box<dyn FnOnce(&AtomicBool) -> T + Send>;

/// The solve threads still running, and the signal that one ended.
static RUNNING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// Counts a solve thread while it lives: from before it is spawned until it ends, panics too.
struct Running;

impl Running {
    fn start() -> Running {
        *RUNNING.0.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = RUNNING.0.lock().unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        RUNNING.1.notify_all();
    }
}

/// Runs each job on a thread of its own and returns their answers in the order they come,
/// once all have answered or `give_up` has passed. Then the jobs' shared flag is set: a job
/// still running is asked to stop, left to finish on its own (counted until it does, see
/// [`settle`]), and its answer is dropped; so is a job whose thread cannot start.
pub(super) fn answers<T: Send + 'static>(jobs: Vec<Job<T>>, give_up: Duration) -> Vec<T> {
    let until = Instant::now() + give_up;
    let stop = Arc::new(AtomicBool::new(false));
    let (sender, receiver) = mpsc::channel();
    let mut waiting = 0;
    for job in jobs {
        let (sender, stop) = (sender.clone(), stop.clone());
        let running = Running::start();
        let spawned = std::thread::Builder::new()
            .name("vksplan-solve".into())
            .spawn(move || {
                let _running = running;
                let _ = sender.send(job(&stop));
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
    stop.store(true, Ordering::Relaxed);
    answers
}

/// Waits up to `wait` until no solve thread is left running (once nothing waits for a solve
/// any more, the ones given up on); true when none is left. A process calls it before it
/// exits (see the module's documentation).
pub fn settle(wait: Duration) -> bool {
    let running = RUNNING.0.lock().unwrap_or_else(PoisonError::into_inner);
    let (running, _) = RUNNING
        .1
        .wait_timeout_while(running, wait, |running| *running > 0)
        .unwrap_or_else(PoisonError::into_inner);
    *running == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_given_up_on_is_asked_to_stop_and_counted_until_it_does() {
        let (release, released) = mpsc::channel::<()>();
        let job: Job<u8> = Box::new(move |stop: &AtomicBool| {
            // Ends only once asked to stop and released.
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = released.recv();
            1
        });
        assert!(answers(vec![job], Duration::from_millis(10)).is_empty());
        assert!(!settle(Duration::from_millis(10)));
        let _ = release.send(());
        assert!(settle(Duration::from_secs(60)));
    }

    #[test]
    fn answers_come_from_every_job_that_ends_in_time() {
        let jobs: Vec<Job<u8>> = (0..3u8)
            .map(|i| Box::new(move |_: &AtomicBool| i) as Job<u8>)
            .collect();
        let mut got = answers(jobs, Duration::from_secs(60));
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 2]);
    }
}
