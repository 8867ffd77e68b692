use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = licwatch::cli::Cli::parse();
    match licwatch::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("licwatch: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `licwatch agenda | head` closing the pipe early is not a failure.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
