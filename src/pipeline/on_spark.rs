//! `--engine spark`: which stages run on Spark, and the check that every
//! op and input of them has a Spark translation, before any I/O.
//!
//! Ingest and ops stages run on the cluster, which writes their datasets.
//! Persist, extract and report stages pull their input dataset back as
//! Arrow batches into a local scratch copy and then run exactly as
//! locally; transfers copy files as locally.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Result};
use crate::spark::source::Reading;
use crate::spark::Engine;

use super::manifest::{self, Artifact, StageRecord};
use super::plan::{Action, Stage};
use super::problems::Problems;
use super::spec::StageLines;

/// Adds a problem for every input and op of `stage` that cannot run on Spark.
pub(super) fn check(stage: &Stage, lines: &StageLines, problems: &mut Problems) {
    let key_line = |key: &str| lines.keys.get(key).copied().unwrap_or(lines.start);
    match &stage.action {
        Action::Ingest {
            inputs,
            read,
            source_column,
            ..
        } => {
            if let Some(why) = refusal(
                inputs,
                crate::spark::source::reading(inputs, read, source_column.as_deref()),
            ) {
                problems.add(key_line("ingest"), format!("stage '{}': {why}", stage.name));
            }
        }
        Action::Ops { ops, .. } => {
            for (i, op) in ops.iter().enumerate() {
                let line = lines
                    .ops
                    .get(i)
                    .copied()
                    .filter(|_| lines.ops.len() == ops.len())
                    .unwrap_or_else(|| key_line("ops-file"));
                let place = format!(
                    "stage '{}': op {} ({})",
                    stage.name,
                    i + 1,
                    crate::ops::name(op)
                );
                if let Err(why) = crate::ops::spark::check(op) {
                    problems.add(line, format!("{place}: no Spark translation: {why}"));
                }
                for table in crate::ops::spark::side_tables(op) {
                    let why = match crate::spark::source::side_read(table) {
                        Ok((location, reading)) => refusal(&[location], Ok(reading)),
                        Err(why) => Some(format!("no Spark translation: {why}")),
                    };
                    if let Some(why) = why {
                        problems.add(line, format!("{place}: {why}"));
                    }
                }
            }
        }
        _ => {}
    }
}

/// Why `inputs` cannot reach Spark, if they cannot: no translation, or
/// sent from here (`crate::spark::send`) but already above the limit on disk.
fn refusal(
    inputs: &[crate::location::Location],
    reading: std::result::Result<Reading, String>,
) -> Option<String> {
    use crate::spark::send;
    match reading {
        Err(why) => Some(format!("no Spark translation: {why}")),
        Ok(Reading::Spark(_)) => None,
        Ok(Reading::Sent(why)) => {
            let size = crate::spark::source::local_size(inputs).filter(|s| *s > send::limit())?;
            let shown = inputs
                .iter()
                .map(|l| crate::location::redact(&l.to_string()))
                .collect::<Vec<_>>()
                .join(", ");
            Some(format!(
                "not supported yet: {}",
                send::too_large(
                    &shown,
                    &why,
                    &format!("{} MB on disk", size.div_ceil(1 << 20))
                )
            ))
        }
    }
}

/// How a stage runs locally (the run's own `run_stage`).
pub(super) type RunLocal = fn(&Stage, &mut StageRecord, &mut BTreeMap<String, u64>) -> Result<()>;

/// Runs one stage with `--engine spark`; `local` runs what stays local.
pub(super) fn run_stage(
    spark: &Engine,
    stage: &Stage,
    record: &mut StageRecord,
    rows: &mut BTreeMap<String, u64>,
    local: RunLocal,
) -> Result<()> {
    let mark = spark.mark();
    let result = run(spark, stage, record, rows, local);
    record.spark_operations = spark.operations_since(mark);
    result
}

fn run(
    spark: &Engine,
    stage: &Stage,
    record: &mut StageRecord,
    rows: &mut BTreeMap<String, u64>,
    run_local: RunLocal,
) -> Result<()> {
    match &stage.action {
        Action::Ingest {
            inputs,
            read,
            source_column,
            output,
        } => {
            record.inputs = inputs
                .iter()
                .map(|l| Artifact {
                    location: crate::location::redact(&l.to_string()),
                    ..Artifact::default()
                })
                .collect();
            let ran = spark.ingest(inputs, read, source_column.as_deref(), &output.path)?;
            record.rows_in = Some(ran.rows_in);
            record.rows_out = Some(ran.rows_out);
            record.outputs.push(written(&output.path, ran.rows_out));
            rows.insert(output.name.clone(), ran.rows_out);
        }
        Action::Ops {
            input, ops, output, ..
        } => {
            let ran = spark.ops(&input.path, ops, &output.path)?;
            if let Some(expected) = rows.get(&input.name).filter(|e| **e != ran.rows_in) {
                return Err(Error::data(format!(
                    "dataset '{}' ({}) holds {} rows, but its stage wrote {expected}: was it changed during the run?",
                    input.name,
                    input.path.display(),
                    ran.rows_in
                )));
            }
            record.inputs.push(Artifact {
                location: input.path.display().to_string(),
                rows: Some(ran.rows_in),
                ..Artifact::default()
            });
            record.rows_in = Some(ran.rows_in);
            record.rows_out = Some(ran.rows_out);
            let removed = ran.rows_in as i64 - ran.rows_out as i64;
            record.rows_removed_by_ops = removed;
            if removed != 0 && !ops.iter().any(crate::ops::changes_row_count) {
                return Err(Error::new(
                    ErrorKind::Data,
                    format!(
                        "row counts do not reconcile: {} rows in, {} out, and no op of this stage removes rows",
                        ran.rows_in, ran.rows_out
                    ),
                ));
            }
            record.outputs.push(written(&output.path, ran.rows_out));
            rows.insert(output.name.clone(), ran.rows_out);
        }
        Action::Persist { input, .. }
        | Action::Extract { input, .. }
        | Action::Report { input, .. } => {
            // Pulled back as Arrow batches, then the local stage as it is.
            let mut frame = spark.pull(&input.path)?;
            let copy = crate::cleanup::scratch_file("spark-pull", ".parquet")?;
            let file = std::fs::File::create(copy.path())?;
            polars::prelude::ParquetWriter::new(file)
                .finish(&mut frame)
                .map_err(|e| Error::from(e).context(copy.path().display()))?;
            let mut local = stage.clone();
            match &mut local.action {
                Action::Persist { input, .. }
                | Action::Extract { input, .. }
                | Action::Report { input, .. } => input.path = copy.path().to_path_buf(),
                _ => unreachable!("matched above"),
            }
            run_local(&local, record, rows)?;
            for a in record.inputs.iter_mut() {
                if a.location == copy.path().display().to_string() {
                    a.location = format!("{} (from Spark)", input.path.display());
                }
            }
        }
        Action::Transfer(_) => run_local(stage, record, rows)?,
    }
    Ok(())
}

/// A dataset Spark wrote: described like a local one when this machine
/// sees it, else by its location and rows.
fn written(path: &std::path::Path, rows: u64) -> Artifact {
    if path.exists() {
        manifest::describe(path, Some(rows))
    } else {
        Artifact {
            location: path.display().to_string(),
            rows: Some(rows),
            ..Artifact::default()
        }
    }
}
