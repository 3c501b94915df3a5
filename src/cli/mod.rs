//! The command line: argument definitions, one module per subcommand, and
//! one printer for everything shown to people.

mod args;
mod clean;
mod docs;
mod head;
mod ingest;
mod inspect;
mod model;
mod ops_args;
mod output;
mod persist;
mod report;
mod run_pipeline;
mod step;
mod stream_args;
mod transfer;
mod transform;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use etl::error::ErrorKind;

pub use output::{LogFormat, Printer};

const ABOUT: &str = "One fast binary for batch ETL: ingest, inspect and convert tables, chained through Unix pipes.";

const AFTER_HELP: &str = "\
Examples:
  etl ingest sales.csv -o sales.parquet
  etl ingest 'landing/*.csv' --add-source-column file | etl ingest -o all.parquet
  etl inspect sales.parquet
  etl head sales.csv -n 5

Between etl commands, tables travel as an Arrow IPC stream. On a terminal,
a command that produces a table shows a preview instead.

Exit codes: 0 success (also when a downstream pipe closes early), 1 the data
failed, 2 usage or configuration error, 3 I/O or remote error, 4 another run
holds the lock, 130 interrupted.";

#[derive(Debug, Parser)]
#[command(name = "etl", version, about = ABOUT, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Log lines on stderr as human text or JSON lines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read tables in any format from files, folders, globs or stdin, and write one table.
    Ingest(Box<ingest::IngestArgs>),
    /// Clean and validate a table: rename, cast, trim, extract, fill nulls, dedup, checks with rejects.
    Clean(Box<clean::CleanArgs>),
    /// Transform a table: SQL, joins, group-by, ranks, top-N, sort, union.
    Transform(Box<transform::TransformArgs>),
    /// Load a table into a warehouse folder (Hive-style Parquet), atomically, with load modes.
    Persist(Box<persist::PersistArgs>),
    /// Copy files between local paths, S3, Azure Blob, GCS and SFTP: verified, retried, resumable.
    Transfer(transfer::TransferArgs),
    /// Run a whole pipeline from a TOML file: ingest, clean, transform, persist, extract, transfer, report.
    RunPipeline(run_pipeline::RunPipelineArgs),
    /// Show a table's format, size, row count, schema and per-column statistics.
    Inspect(inspect::InspectArgs),
    /// Show the first rows of a table.
    Head(head::HeadArgs),
    /// Train a model on a table (fit) and apply it (predict).
    Model(model::ModelArgs),
    /// Write one self-contained HTML page about a table: schema, statistics and charts.
    Report(Box<report::ReportArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsArgs),
    /// Write the man pages into a folder (used to refresh man/).
    #[command(hide = true)]
    Man(docs::ManArgs),
}

pub fn main() -> ExitCode {
    // First, while this is the only thread (see configure_table_format).
    output::configure_table_format();
    etl::cleanup::private_tmpdir();
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let sub = |name: &str| {
        matches
            .subcommand_matches(name)
            .cloned()
            .unwrap_or_default()
    };
    let printer = Printer::new(cli.log_format, cli.quiet);
    output::install_progress(&printer);
    output::cleanup_on_signal();
    output::quiet_panics();
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cli.command {
        Command::Ingest(a) => ingest::run(*a, &printer),
        Command::Clean(a) => clean::run(*a, &sub("clean"), &printer),
        Command::Transform(a) => transform::run(*a, &sub("transform"), &printer),
        Command::Persist(a) => persist::run(*a, &printer),
        Command::Transfer(a) => transfer::run(a, &printer),
        Command::RunPipeline(a) => run_pipeline::run(a, &printer),
        Command::Inspect(a) => inspect::run(a, &printer),
        Command::Head(a) => head::run(a, &printer),
        Command::Report(a) => report::run(*a, &printer),
        Command::Model(a) => model::run(a, &printer),
        Command::Completions(a) => docs::completions(a),
        Command::Man(a) => docs::man(a),
    }));
    let result = run.unwrap_or_else(|_| Err(output::panic_error()));
    etl::cleanup::remove_all();
    etl::progress::finish();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            printer.error(&e);
            ExitCode::from(e.kind.exit_code() as u8)
        }
    }
}
