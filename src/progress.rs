//! Progress of the steps that can take a while (reading, fitting, verifying), reported to an
//! observer that the caller supplies. The library only counts; how progress is shown (the
//! command line's bars on stderr) is the caller's business, and a library caller or a test that
//! wants nothing passes [`Progress::hidden`].

use std::fmt;
use std::sync::Arc;

/// What a step counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of a file.
    Bytes,
    /// Optimiser iterations; the step's message carries the current loss.
    Iterations,
    /// Rows.
    Rows,
    /// Model fits (of cross-validation).
    Fits,
}

/// Something that shows progress: it is told when a step starts and returns what follows it.
pub trait Observer: Send + Sync {
    /// A step named `label` starts, counting `unit` up to `total`.
    fn start(&self, label: &'static str, unit: Unit, total: u64) -> Box<dyn StepObserver>;
}

/// What follows one step.
pub trait StepObserver: Send + Sync {
    /// The step has reached `position`.
    fn set(&self, position: u64);
    /// The step's message changed (the optimiser's loss).
    fn message(&self, message: String);
    /// The step is over.
    fn finish(&self);
}

/// Hands out steps that report to the observer, or silent ones when there is none.
#[derive(Clone, Default)]
pub struct Progress {
    observer: Option<Arc<dyn Observer>>,
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress").field("observed", &self.observer.is_some()).finish()
    }
}

impl Progress {
    /// Reports to `observer`.
    pub fn observed_by(observer: Arc<dyn Observer>) -> Progress {
        Progress { observer: Some(observer) }
    }

    /// Reports nothing (tests, `--quiet`, library use).
    pub fn hidden() -> Progress {
        Progress { observer: None }
    }

    /// A step counting bytes of a file of `total` bytes.
    pub fn bytes(&self, label: &'static str, total: u64) -> Step {
        self.step(label, Unit::Bytes, total)
    }

    /// A step counting optimiser iterations up to `max`.
    pub fn iterations(&self, label: &'static str, max: u64) -> Step {
        self.step(label, Unit::Iterations, max)
    }

    /// A step counting model fits up to `total`.
    pub fn fits(&self, label: &'static str, total: u64) -> Step {
        self.step(label, Unit::Fits, total)
    }

    /// A step counting rows.
    pub fn rows(&self, label: &'static str, total: u64) -> Step {
        self.step(label, Unit::Rows, total)
    }

    fn step(&self, label: &'static str, unit: Unit, total: u64) -> Step {
        Step { observer: self.observer.as_ref().map(|o| Arc::from(o.start(label, unit, total))) }
    }
}

/// One step; every method is a no-op when nothing observes it.
#[derive(Clone)]
pub struct Step {
    observer: Option<Arc<dyn StepObserver>>,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step").field("observed", &self.observer.is_some()).finish()
    }
}

impl Step {
    /// Moves the step to `position`.
    pub fn set(&self, position: u64) {
        if let Some(observer) = &self.observer {
            observer.set(position);
        }
    }

    /// Replaces the step's message.
    pub fn message(&self, message: String) {
        if let Some(observer) = &self.observer {
            observer.message(message);
        }
    }

    /// Ends the step.
    pub fn finish(&self) {
        if let Some(observer) = &self.observer {
            observer.finish();
        }
    }
}
