//! `etl transfer SOURCE... DEST`: copy files between local paths, S3, Azure
//! Blob, GCS and SFTP; verified, retried, resumable.
//!
//!   etl transfer out/report.csv s3://client-bucket/reports/
//!   etl transfer --recursive out/ sftp://etl@reports.example.com/incoming/ --include '*.csv'

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use etl::error::{Error, Result};
use etl::transfer::{self, TransferOptions, TransferRequest};

use super::output::{human_bytes, Printer};

#[derive(Debug, Args)]
#[command(
    after_help = "Locations: local paths and globs, s3://BUCKET/KEY, az://CONTAINER/PATH
(or abfs://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH), gs://BUCKET/PATH,
sftp://USER@HOST[:PORT]/PATH. A DEST ending in /, an existing folder, several
sources or --recursive make DEST a folder; otherwise it is the file's new name.

Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
AWS_ENDPOINT_URL (S3-compatible servers; http:// endpoints are allowed); 
AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_KEY, or
AZURE_STORAGE_CONNECTION_STRING; GOOGLE_APPLICATION_CREDENTIALS or
GOOGLE_SERVICE_ACCOUNT, STORAGE_EMULATOR_HOST for an emulator. SFTP logs in with
--identity, else the ssh agent, else ~/.ssh/id_ed25519 and ~/.ssh/id_rsa; a
password only from the URL or ETL_SFTP_PASSWORD.

Every file is verified after it lands (size plus the S3 ETag, the SHA-256 stored as
object metadata on Azure and GCS, or a read-back with --checksum). A re-run skips
files whose size and checksum already match, so an interrupted transfer resumes.

Examples:
  etl transfer out/report.csv s3://client-bucket/reports/
  etl transfer --recursive out/ az://reports/2024/ --include '*.parquet'
  etl transfer --recursive out/ sftp://etl@reports.example.com/incoming/ --checksum
  etl transfer 's3://landing/2024-*.csv' landing/ --manifest transfer.json --json"
)]
pub struct TransferArgs {
    /// Files, folders, globs or URLs to copy, then the destination (last).
    #[arg(value_name = "SOURCE... DEST", num_args = 2.., required = true)]
    pub locations: Vec<String>,

    /// Copy folders and prefixes with everything under them.
    #[arg(short, long)]
    pub recursive: bool,

    /// Only files matching this glob (repeatable; without / it matches the base name).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,

    /// Leave out files matching this glob (repeatable; without / it matches the base name).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Show what would be copied; copy nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Also read every copied file back from the destination and compare its SHA-256.
    #[arg(long)]
    pub checksum: bool,

    /// Attempts after the first for transient errors (timeouts, 5xx, throttling, dropped connections).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// Files copied at the same time.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub parallel: usize,

    /// Write a JSON record of every file transferred (source, destination, size, checksum, time).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// SSH private key for sftp:// (default: the ssh agent, then ~/.ssh/id_ed25519, ~/.ssh/id_rsa).
    #[arg(short = 'i', long, value_name = "FILE")]
    pub identity: Option<PathBuf>,

    /// known_hosts file that SFTP host keys are checked against (default ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,

    /// Add an unknown SFTP host's key to known_hosts (said on stderr); a changed key is always refused.
    #[arg(long)]
    pub accept_new_host_key: bool,
}

pub fn run(args: TransferArgs, printer: &Printer) -> Result<()> {
    let mut locations = args.locations;
    let dest = locations
        .pop()
        .ok_or_else(|| Error::usage("give a source and a destination"))?;
    let options = TransferOptions {
        recursive: args.recursive,
        include: args.include,
        exclude: args.exclude,
        checksum: args.checksum,
        retries: args.retries,
        parallel: args.parallel,
        identity: args.identity,
        known_hosts: args.known_hosts,
        accept_new_host_key: args.accept_new_host_key,
    };
    let req = TransferRequest {
        dry_run: args.dry_run,
        manifest: args.manifest,
        ..TransferRequest::new(locations, dest, &options)
    };
    let result = transfer::transfer(&req);
    for n in etl::store::take_notices() {
        printer.info("transfer", &n, serde_json::json!({ "notice": n }));
    }
    let s = result?;
    if args.json {
        let text = serde_json::to_string(&s).map_err(|e| Error::data(e.to_string()))?;
        let text = etl::location::redact(&text);
        writeln!(std::io::stdout(), "{text}")?;
    } else if s.dry_run {
        let mut out = std::io::stdout().lock();
        for f in &s.files {
            writeln!(
                out,
                "{} -> {} ({})",
                f.source,
                f.destination,
                human_bytes(f.size)
            )?;
        }
    }
    let rate = if s.seconds > 0.0 {
        format!(", {}/s", human_bytes((s.bytes as f64 / s.seconds) as u64))
    } else {
        String::new()
    };
    let message = if s.dry_run {
        format!(
            "dry run: would copy {} files ({}) to {}",
            s.files.len(),
            human_bytes(s.files.iter().map(|f| f.size).sum()),
            s.destination
        )
    } else {
        format!(
            "copied {} files ({}), skipped {} already there, to {} in {:.2}s{rate}",
            s.copied,
            human_bytes(s.bytes),
            s.skipped,
            s.destination,
            s.seconds
        )
    };
    let fields = serde_json::json!({
        "copied": s.copied, "skipped": s.skipped, "bytes": s.bytes,
        "seconds": s.seconds, "destination": s.destination,
    });
    printer.info("transfer", &message, fields);
    Ok(())
}
