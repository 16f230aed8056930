//! What the command line does on a terminal: the password of an encrypted key, read from
//! [`PASSWORD_VARIABLE`] or asked without echo; and progress bars on stderr, the [`Observer`]
//! the command line supplies. A bar appears only when
//! stderr is a terminal and only once its step has run for a second, so quick runs, pipes, logs
//! and `--quiet` stay clean.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::Error;
use crate::progress::{Observer, Progress, StepObserver, Unit};
use crate::signing::{PASSWORD_VARIABLE, Zeroizing};

/// The password of the encrypted key `key`: the environment variable [`PASSWORD_VARIABLE`] if
/// set, else asked on the terminal (twice with `confirm`, for a new key). Without a terminal on
/// stdin and without the variable, an error says how to give it; never a flag.
pub fn key_password(key: &std::path::Path, confirm: bool) -> Result<Zeroizing<String>, Error> {
    if let Some(password) = std::env::var_os(PASSWORD_VARIABLE) {
        return password.into_string().map(Zeroizing::new).map_err(|_| Error::Key {
            file: key.display().to_string(),
            message: format!("{PASSWORD_VARIABLE} is not valid UTF-8"),
        });
    }
    let bad = |message: String| Error::Key { file: key.display().to_string(), message };
    if !std::io::stdin().is_terminal() {
        return Err(bad(format!(
            "the key is encrypted and there is no terminal to ask its password on; set \
             {PASSWORD_VARIABLE}"
        )));
    }
    let ask = |prompt: String| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| bad(format!("reading the password: {e}")))
    };
    let password = ask(format!("Password for {}: ", key.display()))?;
    if confirm && *ask("Again: ".into())? != *password {
        return Err(bad("the two passwords differ".into()));
    }
    Ok(password)
}

/// A step shows nothing until it has run this long.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Progress bars on stderr if it is a terminal, else nothing.
pub fn progress_on_stderr() -> Progress {
    if std::io::stderr().is_terminal() {
        Progress::observed_by(Arc::new(Bars))
    } else {
        Progress::hidden()
    }
}

struct Bars;

impl Observer for Bars {
    fn start(&self, label: &'static str, unit: Unit, total: u64) -> Box<dyn StepObserver> {
        let template = match unit {
            Unit::Bytes => "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
            Unit::Iterations => "{prefix} iteration {pos}/{len}, {msg}",
            Unit::Rows => "{msg} [{bar:30}] {pos}/{len} rows",
            Unit::Fits => "{prefix} [{bar:30}] {pos}/{len} fits ({eta} left), {msg}",
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
            .with_style(style)
            .with_prefix(label)
            .with_message(label);
        Box::new(Bar(bar))
    }
}

struct Bar(ProgressBar);

impl StepObserver for Bar {
    fn set(&self, position: u64) {
        self.0.set_position(position);
        if self.0.is_hidden() && self.0.elapsed() >= SHOW_AFTER {
            self.0.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn message(&self, message: String) {
        self.0.set_message(message);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
