//! Progress on stderr, only when stderr is a terminal: a batch shows the inputs done out of the
//! total; a plan that runs longer than 2 seconds shows the stage it is in. Nothing is printed
//! otherwise, so pipes and logs see exactly what they did before.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether progress may be drawn.
fn attended() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar of `total` inputs for `batch` (hidden when stderr is not a terminal).
pub fn batch_bar(total: usize) -> ProgressBar {
    if !attended() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} inputs  {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Runs `work`, showing its stage on stderr once it has run for 2 seconds.
pub fn while_planning<T>(work: impl FnOnce() -> T) -> T {
    if !attended() {
        return work();
    }
    let done = AtomicBool::new(false);
    /// Stops the spinner however `work` ends (a panic too, or the scope would wait forever).
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(2) {
                if done.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let spinner = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
                spinner.set_style(style);
            }
            while !done.load(Ordering::Relaxed) {
                spinner.set_message(vksplan::solver::current_stage());
                spinner.tick();
                std::thread::sleep(Duration::from_millis(100));
            }
            spinner.finish_and_clear();
        });
        let _stop = Stop(&done);
        work()
    })
}
