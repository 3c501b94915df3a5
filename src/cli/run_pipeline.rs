//! `etl run-pipeline FILE`: a whole pipeline from one TOML file, fit for cron.
//!
//!   etl run-pipeline pipelines/healthcare.toml
//!   etl run-pipeline --check pipelines/healthcare.toml
//!   etl run-pipeline pipelines/healthcare.toml --var run_date=2026-11-20 --from persist-city
//!   etl run-pipeline pipelines/healthcare.toml --resume
//!   etl run-pipeline pipelines/healthcare.toml --graph | dot -Tsvg > graph.svg

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use clap::{Args, ValueEnum};
use etl::error::{Error, Result};
use etl::pipeline::{self, Action, LoadOptions, Plan, RunOptions, Selection, Stage, StageRecord};

use super::output::{human_bytes, LogFormat, Printer};

#[derive(Debug, Args)]
#[command(
    after_help = "The file declares named stages (ingest, ops, persist, extract, transfer, report) that
read and write datasets LAYER.NAME stored as ROOT/LAYER/NAME.parquet (bronze, silver, gold).
See README.md, \"run-pipeline\", for the file format.

Variables: ${NAME} and ${NAME:-default} come from --var, then the environment;
{run_date} (today, or --var run_date=YYYY-MM-DD), {run_id}, {yyyy}, {mm}, {dd},
{pipeline}, {root}, entries of [vars] and datasets ({silver.city}) from the file.

Stages run as a graph: a stage starts when the stages it needs have succeeded (needs = [...],
and every earlier stage that writes what it reads or writes the same place), up to --jobs at once.
Per stage: retries = N, retry-delay = \"10s\" (doubling, with jitter) for I/O and server errors,
timeout = \"30m\" for each attempt.

Examples:
  etl run-pipeline pipelines/healthcare.toml
  etl run-pipeline --check pipelines/healthcare.toml
  etl run-pipeline pipelines/healthcare.toml --dry-run
  etl run-pipeline pipelines/healthcare.toml --graph                 # text on a terminal, DOT in a pipe
  etl run-pipeline pipelines/healthcare.toml --jobs 1                # one stage at a time, file order
  etl run-pipeline pipelines/healthcare.toml --resume                # continue the latest failed run
  etl run-pipeline pipelines/healthcare.toml --var run_date=2026-11-20 --from persist-city
  ETL_POSTGRES_URL=postgres://etl@db/health etl run-pipeline pipelines/healthcare.toml --log-format json

Crontab (every night at 02:30, JSON logs appended to a file):
  30 2 * * * cd /srv/etl && etl run-pipeline pipelines/healthcare.toml --log-format json --log-file logs/healthcare.jsonl -q

Exit codes: 0 success, 1 the data failed (validation, reconciliation), 2 bad pipeline file or
flags, 3 I/O or remote error, 4 another run holds the lock, 130 interrupted."
)]
pub struct RunPipelineArgs {
    /// The pipeline file (TOML).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Validate the whole file and report every problem, without reading or writing any data.
    #[arg(long)]
    pub check: bool,

    /// Print the plan (stages, datasets, targets) and stop, without reading or writing any data.
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,

    /// Print the stage graph and stop: DOT for Graphviz when stdout is not a terminal (or with dot), an indented tree on a terminal (or with text).
    #[arg(long, value_enum, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "auto", conflicts_with_all = ["check", "dry_run"])]
    pub graph: Option<GraphFormat>,

    /// Stages running at the same time, at most (default: the number of cores; 1 runs them one by one in file order).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Continue the latest failed or interrupted run of this pipeline (same run id and run date): re-run only the stages that did not succeed and those downstream of them, reuse the others' outputs. Refused when a stage to reuse, or a file it wrote, changed since.
    #[arg(long, conflicts_with_all = ["only", "from", "check", "dry_run"])]
    pub resume: bool,

    /// Run only these stages (comma-separated names); their inputs must exist from an earlier run.
    #[arg(long, value_name = "STAGES", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Start at this stage (in file order; after a failure, say); earlier stages' datasets must exist.
    #[arg(long, value_name = "STAGE")]
    pub from: Option<String>,

    /// Set a variable: KEY=VALUE (repeatable). Overrides [vars], runtime values such as run_date, and ${ENV}.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,

    /// Write the run manifest here instead of ROOT/_runs/RUN_ID.json (with --resume: the manifest of the run to continue).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// Also append the log lines to this file (in the --log-format).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Write an HTML run report here: stages on a timeline, rows per stage, reconciliation, gold tables' charts.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Where ingest and ops stages run: here (local) or on a Spark cluster through Spark Connect (spark, with --remote).
    #[arg(long, value_enum, default_value_t = EngineName::Local)]
    pub engine: EngineName,

    /// The Spark Connect server for --engine spark: sc://HOST[:PORT][/;token=TOKEN;use_ssl=true]. The token is never printed.
    #[arg(long, value_name = "URL", env = "SPARK_REMOTE", hide_env_values = true)]
    pub remote: Option<String>,
}

/// Execution engines of `run-pipeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineName {
    /// In this process (polars).
    Local,
    /// On a Spark cluster through Spark Connect.
    Spark,
}

/// How `--graph` shows the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// DOT when stdout is not a terminal, text on a terminal.
    Auto,
    /// Graphviz DOT.
    Dot,
    /// An indented tree.
    Text,
}

pub fn run(args: RunPipelineArgs, printer: &Printer) -> Result<()> {
    let mut vars = BTreeMap::new();
    for v in &args.vars {
        let (k, value) = v
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| Error::usage(format!("--var '{v}': write KEY=VALUE")))?;
        vars.insert(k.to_string(), value.to_string());
    }
    let spark = args.engine == EngineName::Spark;
    let remote = match (spark, &args.remote) {
        (true, Some(url)) => Some(etl::spark::Remote::parse(url)?),
        (true, None) => {
            return Err(Error::usage(
                "--engine spark needs --remote sc://HOST:PORT (or SPARK_REMOTE)",
            ))
        }
        (false, _) => None,
    };
    let mut plan = if args.resume {
        resumed_plan(&args, vars, spark)?
    } else {
        let mut plan = pipeline::load(&args.file, &LoadOptions { vars, spark })?;
        if let Some(m) = &args.manifest {
            plan.manifest = m.clone();
        }
        plan
    };
    if let Some(format) = args.graph {
        let dot = match format {
            GraphFormat::Dot => true,
            GraphFormat::Text => false,
            GraphFormat::Auto => !std::io::stdout().is_terminal(),
        };
        let text = if dot {
            pipeline::graph::dot(&plan)
        } else {
            pipeline::graph::tree(&plan)
        };
        print!("{}", etl::location::redact(&text));
        return Ok(());
    }
    if args.check {
        println!(
            "{}: ok ({} stages: {}){}",
            args.file.display(),
            plan.stages.len(),
            plan.stages
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if spark {
                "; every input and op has a Spark translation"
            } else {
                ""
            }
        );
        return Ok(());
    }
    let selection = Selection {
        only: args.only.clone(),
        from: args.from.clone(),
    };
    if args.dry_run {
        let picked = selection.pick(&plan)?;
        print_plan(&plan, &picked);
        return Ok(());
    }
    if let Some(remote) = &remote {
        plan.spark = Some(std::sync::Arc::new(etl::spark::Engine::connect(remote)?));
    }
    let log = RunLog::open(printer, &plan, args.log_file.as_deref())?;
    log.line(
        None,
        "info",
        &format!(
            "run {} of {} (run_date {}){}",
            plan.run_id,
            plan.file.display(),
            plan.run_date,
            plan.spark
                .as_ref()
                .map(|s| format!(" on Spark at {}", s.shown()))
                .unwrap_or_default()
        ),
        serde_json::json!({"event": "run-started"}),
    );
    let opts = RunOptions {
        selection,
        jobs: args
            .jobs
            .map(usize::from)
            .unwrap_or_else(pipeline::default_jobs),
        resume: args.resume,
    };
    let (manifest, result) = pipeline::run(&plan, &opts, &log);
    let ran = manifest
        .stages
        .iter()
        .filter(|s| s.status == pipeline::StageStatus::Succeeded)
        .count();
    let fields = serde_json::json!({
        "event": "run-finished",
        "status": manifest.status,
        "seconds": manifest.seconds,
        "stages_succeeded": ran,
        "manifest": plan.manifest.display().to_string(),
    });
    match &result {
        Ok(()) => log.line(
            None,
            "info",
            &format!(
                "run {} succeeded in {:.2}s: {ran} stages; manifest {}",
                plan.run_id,
                manifest.seconds,
                plan.manifest.display()
            ),
            fields,
        ),
        Err(_) => log.line(
            None,
            "error",
            &format!(
                "run {} failed after {:.2}s; manifest {}",
                plan.run_id,
                manifest.seconds,
                plan.manifest.display()
            ),
            fields,
        ),
    }
    if let Some(path) = &args.report {
        let written = run_report(&plan, &manifest, path);
        match &written {
            Ok(bytes) => log.line(
                None,
                "info",
                &format!("run report {} ({})", path.display(), human_bytes(*bytes)),
                serde_json::json!({"event": "run-report", "report": path.display().to_string()}),
            ),
            Err(e) => log.line(
                None,
                "error",
                &format!("run report {}: {}", path.display(), e.message),
                serde_json::json!({"event": "run-report-failed"}),
            ),
        }
        if result.is_ok() {
            written?;
        }
    }
    result
}

/// The plan of the run to continue: loaded again with that run's id and
/// date, so that every path comes out the same.
fn resumed_plan(
    args: &RunPipelineArgs,
    mut vars: BTreeMap<String, String>,
    spark: bool,
) -> Result<Plan> {
    let first = pipeline::load(
        &args.file,
        &LoadOptions {
            vars: vars.clone(),
            spark,
        },
    )?;
    let (path, previous) = pipeline::latest_unfinished(&first, args.manifest.as_deref())?;
    for (key, theirs) in [
        ("run_date", &previous.run_date),
        ("run_id", &previous.run_id),
    ] {
        if let Some(mine) = vars.get(key).filter(|v| *v != theirs) {
            return Err(Error::usage(format!(
                "--resume: run {} has {key} {theirs}, not {mine}: leave out --var {key} to continue it",
                previous.run_id
            )));
        }
        vars.insert(key.to_string(), theirs.clone());
    }
    let mut plan = pipeline::load(&args.file, &LoadOptions { vars, spark })?;
    plan.manifest = path;
    Ok(plan)
}

/// The run report: the manifest, and a profile of each gold dataset that exists.
fn run_report(plan: &Plan, manifest: &pipeline::Manifest, path: &std::path::Path) -> Result<u64> {
    let tables: Vec<etl::report::RunTable> = plan
        .stages
        .iter()
        .filter_map(|s| s.action.output())
        .filter(|d| d.name.starts_with("gold.") && d.path.exists())
        .map(|d| etl::report::RunTable {
            name: d.name.clone(),
            path: d.path.clone(),
            charts: Vec::new(),
        })
        .collect();
    let json = serde_json::to_value(manifest).map_err(|e| Error::data(e.to_string()))?;
    etl::report::write_page(path, &etl::report::run_page(&json, &tables)?)
}

fn print_plan(plan: &Plan, picked: &[bool]) {
    println!(
        "pipeline {} ({}), run_date {}, run {}",
        plan.name,
        plan.file.display(),
        plan.run_date,
        plan.run_id
    );
    println!(
        "root {}; manifest {}; lock {}",
        plan.root.display(),
        plan.manifest.display(),
        plan.lock.display()
    );
    for (i, (stage, p)) in plan.stages.iter().zip(picked).enumerate() {
        let mark = if *p { " " } else { "-" };
        println!(
            "{mark}{:>2}. {:<20} {}",
            i + 1,
            stage.name,
            etl::location::redact(&describe(stage))
        );
        if !stage.needs.is_empty() {
            let after: Vec<&str> = stage
                .needs
                .iter()
                .map(|n| plan.stages[n.stage].name.as_str())
                .collect();
            println!("      {:<20} after {}", "", after.join(", "));
        }
    }
    if picked.iter().any(|p| !p) {
        println!("(- : skipped by --only/--from)");
    }
}

fn describe(stage: &Stage) -> String {
    let ds = |d: &pipeline::Dataset| format!("{} ({})", d.name, d.path.display());
    match &stage.action {
        Action::Ingest { inputs, output, .. } => format!(
            "ingest {} → {}",
            inputs
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            ds(output)
        ),
        Action::Ops {
            input, ops, output, ..
        } => format!(
            "{} → {} ops ({}) → {}",
            input.name,
            ops.len(),
            ops.iter()
                .map(etl::ops::name)
                .collect::<Vec<_>>()
                .join(", "),
            ds(output)
        ),
        Action::Persist { input, targets } => format!(
            "persist {} → {}",
            input.name,
            targets
                .iter()
                .map(|t| format!("{} table {} ({})", t.target, t.table, t.mode.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Action::Extract { input, spec } => format!(
            "extract {} → {} ({} {}{})",
            input.name,
            spec.path.display(),
            spec.options.format,
            spec.options.codec,
            spec.files
                .map(|n| format!(", {n} files"))
                .unwrap_or_default()
        ),
        Action::Report { input, spec } => {
            format!("report {} → {}", input.name, spec.path.display())
        }
        Action::Transfer(t) => format!(
            "transfer {} → {}",
            t.from
                .iter()
                .map(|l| etl::location::redact(l))
                .collect::<Vec<_>>()
                .join(", "),
            t.to.iter()
                .map(|l| etl::location::redact(l))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The run's log: timestamped lines with the stage name on stderr (human
/// or JSON lines), and optionally appended to a file.
struct RunLog<'a> {
    printer: &'a Printer,
    pipeline: String,
    run_id: String,
    file: Option<Mutex<std::fs::File>>,
    /// Stages running now: progress bars pause while there is more than one.
    running: Cell<usize>,
}

impl<'a> RunLog<'a> {
    fn open(
        printer: &'a Printer,
        plan: &Plan,
        path: Option<&std::path::Path>,
    ) -> Result<RunLog<'a>> {
        let file = match path {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| Error::io(format!("--log-file {}: {e}", p.display())))?;
                Some(Mutex::new(f))
            }
            None => None,
        };
        Ok(RunLog {
            printer,
            pipeline: plan.name.clone(),
            run_id: plan.run_id.clone(),
            file,
            running: Cell::new(0),
        })
    }

    fn line(&self, stage: Option<&str>, level: &str, message: &str, fields: serde_json::Value) {
        let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let text = match self.printer.format {
            LogFormat::Human => match stage {
                Some(s) => format!("{ts} {level:<5} [{s}] {message}"),
                None => format!("{ts} {level:<5} {message}"),
            },
            LogFormat::Json => {
                let mut obj = serde_json::json!({
                    "ts": ts,
                    "level": level,
                    "pipeline": self.pipeline,
                    "run_id": self.run_id,
                    "message": message,
                });
                if let Some(s) = stage {
                    obj["stage"] = serde_json::Value::String(s.to_string());
                }
                if let (Some(o), serde_json::Value::Object(extra)) = (obj.as_object_mut(), fields) {
                    o.extend(extra);
                }
                obj.to_string()
            }
        };
        // Every location and quoted error passes through here: one place
        // that keeps credentials out of the terminal and the log file.
        let text = etl::location::redact(&text);
        if !self.printer.quiet || level == "error" {
            etl::progress::finish();
            let _ = writeln!(std::io::stderr(), "{text}");
        }
        if let Some(f) = &self.file {
            if let Ok(mut f) = f.lock() {
                let _ = writeln!(f, "{text}");
            }
        }
    }
}

impl pipeline::Observer for RunLog<'_> {
    fn stage_started(&self, stage: &Stage) {
        self.running.set(self.running.get() + 1);
        super::output::pause_progress(self.running.get() > 1);
        self.line(
            Some(&stage.name),
            "info",
            &format!("started: {}", describe(stage)),
            serde_json::json!({"event": "stage-started", "kind": stage.action.kind()}),
        );
    }

    fn stage_finished(&self, stage: &Stage, r: &StageRecord) {
        self.running.set(self.running.get().saturating_sub(1));
        super::output::pause_progress(self.running.get() > 1);
        let fields = serde_json::to_value(r).unwrap_or_default();
        let mut fields = fields;
        fields["event"] = serde_json::Value::String("stage-finished".into());
        if let Some(e) = &r.error {
            self.line(
                Some(&stage.name),
                "error",
                &format!("failed after {:.2}s: {e}", r.seconds),
                fields,
            );
            return;
        }
        if let Action::Transfer(t) = &stage.action {
            let bytes: u64 = r.outputs.iter().filter_map(|o| o.bytes).sum();
            let to: Vec<String> = t.to.iter().map(|l| etl::location::redact(l)).collect();
            self.line(
                Some(&stage.name),
                "info",
                &format!(
                    "done in {:.2}s: {} files ({}) verified at {}",
                    r.seconds,
                    r.outputs.len(),
                    human_bytes(bytes),
                    to.join(", ")
                ),
                fields,
            );
            return;
        }
        let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
        let mut parts = vec![format!(
            "{} rows in, {} out",
            count(r.rows_in),
            count(r.rows_out)
        )];
        if r.rows_rejected > 0 {
            parts.push(format!("{} rejected", r.rows_rejected));
        }
        if r.rows_removed_by_ops != 0 {
            parts.push(format!("{} removed by ops", r.rows_removed_by_ops));
        }
        let outputs: Vec<String> = r
            .outputs
            .iter()
            .map(|o| match o.bytes {
                Some(b) => format!("{} ({})", o.location, human_bytes(b)),
                None => o.location.clone(),
            })
            .collect();
        self.line(
            Some(&stage.name),
            "info",
            &format!(
                "done in {:.2}s: {}{}",
                r.seconds,
                parts.join(", "),
                if outputs.is_empty() {
                    String::new()
                } else {
                    format!(" → {}", outputs.join(", "))
                }
            ),
            fields,
        );
    }

    fn note(&self, stage: &str, message: &str) {
        self.line(
            Some(stage),
            "warn",
            message,
            serde_json::json!({"event": "note"}),
        );
    }
}
