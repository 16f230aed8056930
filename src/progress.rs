//! Progress bars on stderr for the steps that can take a while (reading, fitting, verifying).
//!
//! A bar appears only when stderr is a terminal and only once its step has run for a second,
//! so quick runs, pipes, logs and `--quiet` stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A step shows nothing until it has run this long.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Hands out progress bars, or silent stand-ins when progress is not wanted.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Shows progress if stderr is a terminal.
    pub fn on_stderr() -> Progress {
        Progress { enabled: std::io::stderr().is_terminal() }
    }

    /// Shows nothing (tests, `--quiet`, library use).
    pub fn hidden() -> Progress {
        Progress { enabled: false }
    }

    /// A bar counting bytes of a file of `total` bytes.
    pub fn bytes(&self, message: &'static str, total: u64) -> Step {
        self.step(total, "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})", message)
    }

    /// A bar counting optimiser iterations up to `max`, with the current loss as its message.
    pub fn iterations(&self, message: &'static str, max: u64) -> Step {
        self.step(max, "{prefix} iteration {pos}/{len}, {msg}", message)
    }

    /// A bar counting rows.
    pub fn rows(&self, message: &'static str, total: u64) -> Step {
        self.step(total, "{msg} [{bar:30}] {pos}/{len} rows", message)
    }

    fn step(&self, total: u64, template: &str, message: &'static str) -> Step {
        if !self.enabled {
            return Step { bar: None };
        }
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
            .with_style(style)
            .with_prefix(message)
            .with_message(message);
        Step { bar: Some(bar) }
    }
}

/// One step's bar; every method is a no-op when progress is hidden.
#[derive(Debug, Clone)]
pub struct Step {
    bar: Option<ProgressBar>,
}

impl Step {
    /// Moves the bar to `position`.
    pub fn set(&self, position: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(position);
            self.reveal(bar);
        }
    }

    /// Replaces the bar's message.
    pub fn message(&self, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(message);
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn reveal(&self, bar: &ProgressBar) {
        if bar.is_hidden() && bar.elapsed() >= SHOW_AFTER {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}
