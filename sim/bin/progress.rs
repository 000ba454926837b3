//! Progress on stderr for `run` and `sweep` (indicatif): a bar with the
//! count, elapsed time and an estimate of what is left — and nothing at all
//! when stderr is not a terminal (CI logs, pipes, Kubernetes pods), so
//! progress never reaches a log or a report. Display only: the library
//! reports progress through callbacks and never sees this.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// One bar (or spinner, when the total is unknown) on stderr.
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar of `total` steps named `what` ("points"), shown as a percentage
    /// when `what` is empty; `total` = 0: a spinner counting `what`.
    pub fn new(prefix: &str, total: u64, what: &str) -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            let b = ProgressBar::with_draw_target(
                (total > 0).then_some(total),
                ProgressDrawTarget::stderr(),
            );
            let template = if what.is_empty() {
                "{prefix} [{bar:30}] {percent:>3}%  {elapsed} (~{eta} left)".to_string()
            } else if total > 0 {
                format!(
                    "{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {what}  {{elapsed}} (~{{eta}} left)"
                )
            } else {
                format!("{{prefix}} {{spinner}} {{pos}} {what}  {{elapsed}}")
            };
            if let Ok(style) = ProgressStyle::with_template(&template) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        } else {
            ProgressBar::hidden()
        };
        bar.set_prefix(prefix.to_string());
        Progress(bar)
    }

    /// Steps done so far (callable from any thread).
    pub fn set(&self, done: u64) {
        if done > self.0.position() {
            self.0.set_position(done);
        }
    }

    /// Removes the bar (the terminal is left as it was).
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
