//! The `onnxify` command: parse the arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    release_large_buffers();
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

/// Large buffers (a megabyte or more: the training matrix, a whole run's outputs) go straight
/// back to the system when dropped. glibc's malloc otherwise raises its threshold for that to
/// the largest buffer freed so far, and the next ones stay in its heaps once dropped: verifying
/// a million rows then held 200 MB more at its peak (measured).
///
/// Smaller buffers, made and dropped by the thousand (a chunk's values, a batch's tensors), stay
/// in the heaps: with the threshold fixed, glibc would also give the top of a heap back to the
/// system whenever 128 KB of it were free, and every next batch faulted its pages in again
/// (a quarter of verification's time on a million rows, measured).
fn release_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets tuning parameters of the allocator; called before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}
