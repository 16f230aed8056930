//! The `onnxify` command: parse the arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = onnxify::cli::parse(std::env::args_os());
    match onnxify::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) if failure.is_broken_pipe() => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("onnxify: error: {}", onnxify::cli::error_message(&failure));
            ExitCode::from(failure.exit_code())
        }
    }
}
