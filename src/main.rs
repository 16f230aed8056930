//! The `onnxify` command: parse the arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = onnxify::cli::parse(std::env::args_os());
    match onnxify::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if onnxify::cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onnxify: error: {}", onnxify::cli::error_message(&e));
            ExitCode::from(onnxify::cli::exit_code(&e))
        }
    }
}
