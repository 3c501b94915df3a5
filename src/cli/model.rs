//! `etl model fit|predict`: train a model on a table and apply it.
//!
//!   etl model fit -i gold.parquet --target trx_cnt --features years_of_exp,presc_state --kind linear -o model.json
//!   etl model predict model.json -i new.parquet -o scored.parquet

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use etl::error::{Error, Result};
use etl::model::{FitRequest, Kind, Task};
use etl::source::Provenance;

use super::args::{OutputPlan, ReadArgs, WriteArgs};
use super::output::{human_bytes, preview, Printer};

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Train a model on a table, test it on held-out rows, and write the model file (JSON).
    Fit(Box<FitArgs>),
    /// Add a model's predictions to a table as a column.
    Predict(Box<PredictArgs>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Ordinary least squares.
    Linear,
    /// Logistic regression without a penalty (one-vs-rest for more than two classes).
    Logistic,
    /// A random forest of regression trees (class probabilities when classifying).
    RandomForest,
    /// Gradient-boosted regression trees (squared error or log loss).
    GradientBoosting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Predict a number.
    Regression,
    /// Predict a class (and its probability); 2 to 100 classes.
    Classification,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Features that hold text are categories (one indicator each, the first
category as the reference); numbers and booleans are used as they are, a
null or NaN replaced by the training mean. Rows with a null target are left
out. The model file records all of this (README.md, \"Model files\").

Metrics: R², MAE and RMSE for regression; accuracy, F1 and ROC AUC for two
classes (the second value in sorted order is the positive class); accuracy,
macro F1 and macro one-vs-rest ROC AUC for more (one model per class).

Examples:
  etl model fit -i gold/presc.parquet --target trx_cnt --features years_of_exp,total_day_supply,presc_state --kind linear -o trx.json
  etl model fit -i quality.csv --target potable --features ph,hardness,solids --kind random-forest --test-fraction 0.25 --seed 7 -o potable.json"
)]
pub struct FitArgs {
    /// The training table: a file, folder, glob, or - for stdin.
    #[arg(short, long, value_name = "INPUT", default_value = "-")]
    pub input: String,

    /// The column to predict.
    #[arg(long, value_name = "COLUMN")]
    pub target: String,

    /// The columns to predict from (comma-separated).
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',', required = true)]
    pub features: Vec<String>,

    /// The kind of model.
    #[arg(long, value_enum)]
    pub kind: KindArg,

    /// Regression or classification; default: classification for logistic models and text or boolean targets.
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,

    /// The model file to write (JSON).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Share of the rows held out to measure the model (chosen at random with --seed); 0 measures on the training rows.
    #[arg(long, value_name = "SHARE", default_value_t = 0.2)]
    pub test_fraction: f64,

    /// Seed of the random split and of the random forest.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,

    /// A boolean column that marks the test rows (true), instead of a random split.
    #[arg(long, value_name = "COLUMN", conflicts_with = "test_fraction")]
    pub split_column: Option<String>,

    /// Trees of a random forest or gradient boosting (default 100).
    #[arg(long, value_name = "N")]
    pub trees: Option<usize>,

    /// Largest tree depth (default: unlimited for forests, 3 for gradient boosting).
    #[arg(long, value_name = "N")]
    pub max_depth: Option<u16>,

    /// Gradient boosting: the shrinkage of each tree (default 0.1).
    #[arg(long, value_name = "RATE")]
    pub learning_rate: Option<f64>,

    /// Print the metrics and training summary as JSON.
    #[arg(long)]
    pub json: bool,

    /// Replace the model file if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "A classifier adds two columns: COLUMN (the predicted class, in the target's
type) and COLUMN_probability (of the positive class). A feature column that
is missing, or whose type differs from training (text for a number, say),
fails with a message naming it.

Examples:
  etl model predict trx.json -i gold/presc.parquet -o scored.parquet
  etl ingest new.csv | etl model predict potable.json --column potable_pred | etl head"
)]
pub struct PredictArgs {
    /// The model file written by `etl model fit`.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,

    /// The table to score: a file, folder, glob, or - for stdin.
    #[arg(short, long, value_name = "INPUT", default_value = "-")]
    pub input: String,

    /// The prediction's column name.
    #[arg(long, value_name = "NAME", default_value = etl::ops::predict::DEFAULT_OUTPUT)]
    pub column: String,

    #[command(flatten)]
    pub read: ReadArgs,

    #[command(flatten)]
    pub write: WriteArgs,
}

pub fn run(args: ModelArgs, printer: &Printer) -> Result<()> {
    match args.command {
        ModelCommand::Fit(a) => fit(*a, printer),
        ModelCommand::Predict(a) => predict(*a, printer),
    }
}

fn open(input: &str, read: &ReadArgs) -> Result<etl::Frame> {
    let read = read.to_options()?;
    let location = etl::Location::parse(input)?;
    etl::source::open(&[location], &read, &Provenance::default())
}

fn fit(args: FitArgs, printer: &Printer) -> Result<()> {
    if args.output.is_dir() {
        return Err(Error::usage(format!(
            "-o {}: is a folder; name the model file",
            args.output.display()
        )));
    }
    refuse_existing(&args.output, args.force)?;
    let req = FitRequest {
        kind: match args.kind {
            KindArg::Linear => Kind::Linear,
            KindArg::Logistic => Kind::Logistic,
            KindArg::RandomForest => Kind::RandomForest,
            KindArg::GradientBoosting => Kind::GradientBoosting,
        },
        task: args.task.map(|t| match t {
            TaskArg::Regression => Task::Regression,
            TaskArg::Classification => Task::Classification,
        }),
        target: args.target.clone(),
        features: args.features.clone(),
        test_fraction: args.test_fraction,
        seed: args.seed,
        split_column: args.split_column.clone(),
        trees: args.trees,
        max_depth: args.max_depth,
        learning_rate: args.learning_rate,
    };
    if req.trees == Some(0) {
        return Err(Error::usage("--trees must be at least 1"));
    }
    let frame = open(&args.input, &args.read)?;
    let model = etl::model::fit(frame, &req)?;
    let bytes = model.save(&args.output)?;
    let mut out = std::io::stdout().lock();
    let t = &model.training;
    if args.json {
        let doc = serde_json::json!({
            "model": args.output.display().to_string(),
            "kind": model.kind,
            "task": model.task,
            "target": model.target,
            "inputs": model.width(),
            "training": t,
            "metrics": model.metrics,
        });
        writeln!(out, "{doc}")?;
    } else {
        let task = match model.task {
            Task::Regression => "regression",
            Task::Classification => "classification",
        };
        writeln!(
            out,
            "{}: {} {task} of {} on {} features ({} inputs)",
            args.output.display(),
            model.kind.name(),
            model.target,
            model.features.len(),
            model.width()
        )?;
        let split = match (&t.test_fraction, &t.seed) {
            (Some(f), Some(s)) => format!("random split, test fraction {f}, seed {s}"),
            _ => t.split.clone(),
        };
        writeln!(
            out,
            "  trained on {} rows, tested on {} ({split}); metrics on the {} rows",
            t.train_rows, t.test_rows, t.metrics_on
        )?;
        if t.null_target_rows > 0 {
            writeln!(
                out,
                "  left out {} rows with a null target",
                t.null_target_rows
            )?;
        }
        for (name, v) in &model.metrics {
            writeln!(out, "  {name:<9} {v:.4}")?;
        }
    }
    printer.info(
        "model",
        &format!("wrote {} ({})", args.output.display(), human_bytes(bytes)),
        serde_json::json!({"output": args.output.display().to_string(), "bytes": bytes}),
    );
    Ok(())
}

/// An existing output is replaced only with --force, as everywhere in etl.
pub fn refuse_existing(path: &std::path::Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        return Err(Error::usage(format!(
            "{}: already exists; pass --force to replace it",
            path.display()
        )));
    }
    Ok(())
}

fn predict(args: PredictArgs, printer: &Printer) -> Result<()> {
    let plan = args.write.plan(std::io::stdout().is_terminal())?;
    let frame = open(&args.input, &args.read)?;
    let scored = etl::model::predict(frame, &args.model, &args.column)?;
    match plan {
        OutputPlan::Preview => preview(scored, 10),
        OutputPlan::Write(req) => {
            let summary = etl::sink::write(scored, &req)?;
            if let etl::sink::Destination::Path(p) = &req.dest {
                printer.info(
                    "model",
                    &format!("scored {} rows into {}", summary.rows, p.display()),
                    serde_json::json!({"rows": summary.rows, "output": p.display().to_string()}),
                );
            }
            Ok(())
        }
    }
}
