//! Shell completions and manual pages, generated from the same clap
//! definition as the parser, so they cannot drift from what licwatch accepts.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write licwatch.1 and one page per subcommand (licwatch-agenda.1 …)
    /// into this directory instead of printing licwatch.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut super::command(), "licwatch", &mut out);
    write_stdout(&out)
}

pub fn man(args: ManArgs) -> anyhow::Result<()> {
    match args.dir {
        Some(dir) => clap_mangen::generate_to(manual(super::command()), &dir)
            .with_context(|| format!("--dir {}: writing the manual pages", dir.display())),
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(manual(super::command())).render(&mut out)?;
            write_stdout(&out)
        }
    }
}

/// The command line for the manual: each example on one line, since man
/// fills lines to its own width and a continuation backslash would land
/// mid-line.
fn manual(mut command: clap::Command) -> clap::Command {
    if let Some(text) = command.get_after_help() {
        let text = text.to_string().replace(super::help::CONTINUATION, " ");
        command = command.after_help(text);
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, manual);
    }
    command
}

/// Generated text goes out as bytes, unchanged: a trailing newline is
/// already there.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}
