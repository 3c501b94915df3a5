//! The embedded table store: a Hive-style warehouse folder,
//! `ROOT/<db>/<table>/<col>=<value>/part-*.parquet`, readable by DuckDB,
//! Spark and polars with Hive partitioning. Every write is staged beside the
//! table and moved in only when complete; a failed write leaves the table as
//! it was.

use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;

use crate::cleanup::TempOutput;
use crate::db::load::{steps, Delete, Direct, Found, LoadMode, LoadSpec, LoadSummary, Steps};
use crate::error::{Error, Result};
use crate::format::{Format, WriteOptions};
use crate::frame::{Frame, FrameData};

fn valid_name(part: &str) -> bool {
    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `db.table` → (db, table), both checked as plain identifiers.
pub fn table_path(root: &Path, table: &str) -> Result<PathBuf> {
    let (db, name) = table.split_once('.').unwrap_or(("default", table));
    if !valid_name(db) || !valid_name(name) {
        return Err(Error::usage(format!(
            "--table '{table}': write DB.TABLE or TABLE with letters, digits and _ only"
        )));
    }
    Ok(root.join(db).join(name))
}

/// Loads `frame` into the table `w.table` of the warehouse folder `root`.
pub fn load(frame: Frame, root: &Path, w: &LoadSpec) -> Result<LoadSummary> {
    let started = Instant::now();
    let dir = table_path(root, &w.table)?;
    check_partition_columns(&w.partition_by)?;
    let mut frame = frame;
    let schema = frame.schema()?;
    let exists = dir.join("_SUCCESS").exists() || has_data(&dir);
    // A folder has no DDL or grants to keep: truncate rebuilds it.
    let mode = match w.mode {
        LoadMode::Truncate => LoadMode::FullRefresh,
        mode => mode,
    };
    let found = Found {
        exists,
        unique_key: false,
        direct: Direct::Never,
    };
    let delete = match steps(mode, found) {
        Steps::Create { .. } => None,
        Steps::Into { delete, .. } => Some(delete),
    };
    if delete.is_some() {
        check_partitions(&dir, &w.partition_by)?;
        check_schema(&dir, &schema, &w.partition_by, w.evolve)?;
    }
    if w.mode == LoadMode::Incremental && !w.primary_key.is_empty() {
        frame = last_row_per_key(frame, &w.primary_key)?;
    }
    if delete == Some(Delete::SameKey) {
        frame = merge_with_existing(frame, &dir, &w.primary_key, &w.partition_by)?;
    }
    std::fs::create_dir_all(dir.parent().expect("table has a parent"))?;
    let staging = TempOutput::beside(&dir);
    std::fs::create_dir(&staging.path)?;
    let run = run_id();
    let written = write_staged(frame, &staging.path, &w.partition_by, &run)?;
    // The summary reports what is on disk, and a row that did not land
    // (two values sharing a folder) fails the load before anything moves.
    let staged = walk_files(&staging.path);
    let mut rows = 0u64;
    for f in &staged {
        rows += crate::format::parquet::row_count(f)? as u64;
    }
    if rows != written {
        return Err(Error::data(format!(
            "{}: {written} rows written but {rows} on disk; nothing was changed",
            dir.display()
        )));
    }
    let files = staged.len();
    // Synced once here: the moves below only rename.
    crate::cleanup::sync_tree(&staging.path)?;
    let partitions = if w.partition_by.is_empty() {
        0
    } else {
        partition_leaves(&staging.path).len()
    };
    match delete {
        Some(Delete::Nothing) => move_files_in(&staging.path, &dir)?,
        Some(Delete::SamePartitions) if !w.partition_by.is_empty() => {
            swap_partitions(&staging.path, &dir)?
        }
        // A new table, or the merged rows of incremental: the whole folder.
        _ => {
            std::fs::File::create(staging.path.join("_SUCCESS"))?;
            staging.commit(&dir)?;
        }
    }
    crate::cleanup::write_durably(&dir.join("_SUCCESS"), b"")?;
    Ok(LoadSummary {
        target: dir.display().to_string(),
        mode: w.mode.name().to_string(),
        rows,
        partitions,
        files,
        seconds: started.elapsed().as_secs_f64(),
        skipped: 0,
    })
}

fn run_id() -> String {
    let now = chrono::Utc::now();
    format!("{}-{}", now.format("%Y%m%dT%H%M%S%6f"), std::process::id())
}

fn has_data(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

/// The table's data files. Names starting with `.` (a killed run's
/// leftovers) or `_` (markers, `_temporary/`) are not the table's, unless a
/// partition folder (`_col=value`).
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || (name.starts_with('_') && !name.contains('=')) {
                continue;
            }
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out
}

/// Writes the frame into `staging`, one folder per partition value.
fn write_staged(frame: Frame, staging: &Path, partition_by: &[String], run: &str) -> Result<u64> {
    let parquet = WriteOptions::new(Format::Parquet);
    if partition_by.is_empty() {
        let rows = super::file::write_file(
            frame,
            &staging.join(format!("part-{run}-00000.parquet")),
            &parquet,
        )?;
        return Ok(rows);
    }
    // One pass: each batch's rows go to their partition's file.
    let (stream, guard) = frame.into_batches()?;
    let mut files =
        super::partition_files::PartitionFiles::new(staging, run, partition_by, parquet.codec);
    let folder = |group: &DataFrame| -> Result<PathBuf> {
        let mut parts = PathBuf::new();
        for name in partition_by {
            let v = group.column(name)?.get(0)?;
            parts.push(format!("{name}={}", partition_dir_value(&v)));
        }
        Ok(parts)
    };
    for batch in stream.batches {
        let df = batch.map_err(|e| guard.explain(e))?;
        files.write(&df, &folder)?;
    }
    files.finish()
}

/// Hive's folder name for a null partition value.
const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// A partition column becomes a folder name's key as it is: a name that
/// Hive would have to escape (`../../x` would leave the table), or one
/// starting with `.` (a hidden folder), is refused. Escaping would keep the
/// folder inside the table, but readers (polars, DuckDB) do not decode keys,
/// so the column would come back under its escaped name.
fn check_partition_columns(partition_by: &[String]) -> Result<()> {
    for name in partition_by {
        if name.is_empty() || name.starts_with('.') || hive_escape(name) != *name {
            return Err(Error::usage(format!(
                "--partition-by '{name}': a partition column becomes a folder name; it must not be empty, start with '.' or hold / \\ = % \" # ? : * [ ] ^ {{ }} or control characters (rename it first)"
            )));
        }
    }
    Ok(())
}

/// A partition value as Hive writes it in a folder name. Distinct values
/// give distinct names: the text `__HIVE_DEFAULT_PARTITION__` is written
/// with its first `_` escaped, so it does not share the null's folder.
fn partition_dir_value(v: &AnyValue) -> String {
    if v.is_null() {
        return NULL_PARTITION.into();
    }
    let text = match v {
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string().trim_matches('"').to_string(),
    };
    if text == NULL_PARTITION {
        return format!("%5F{}", &text[1..]);
    }
    hive_escape(&text)
}

/// Hive's escaping for partition values: `%XX` for the characters that would
/// break a path or a `key=value` pair.
fn hive_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '/'
            | '\\'
            | '='
            | '%'
            | '"'
            | '#'
            | '?'
            | ':'
            | '*'
            | '['
            | ']'
            | '^'
            | '{'
            | '}'
            | '\u{0}'..='\u{1f}'
            | '\u{7f}' => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

/// Appends: every staged file moves to the same place in the table.
fn move_files_in(staging: &Path, dir: &Path) -> Result<()> {
    for file in walk_files(staging) {
        let rel = file.strip_prefix(staging).expect("inside staging");
        let target = dir.join(rel);
        std::fs::create_dir_all(target.parent().expect("has a folder"))?;
        std::fs::rename(&file, &target)?;
        crate::cleanup::sync_parent(&target)?;
    }
    Ok(())
}

/// Each staged partition folder replaces the table's (two renames each).
fn swap_partitions(staging: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for part in partition_leaves(staging) {
        let rel = part.strip_prefix(staging).expect("inside staging");
        let target = dir.join(rel);
        std::fs::create_dir_all(target.parent().expect("has a folder"))?;
        let moving = TempOutput::beside(&target);
        std::fs::rename(&part, &moving.path)?;
        moving.commit(&target)?;
    }
    Ok(())
}

/// The deepest folders holding data files.
fn partition_leaves(dir: &Path) -> Vec<PathBuf> {
    let mut leaves: Vec<PathBuf> = walk_files(dir)
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    leaves.sort();
    leaves.dedup();
    leaves
}

/// The table's partition keys, from the folders of its first data file,
/// must be the ones given: a mixed layout breaks every reader.
fn check_partitions(dir: &Path, partition_by: &[String]) -> Result<()> {
    let Some(sample) = walk_files(dir).into_iter().next() else {
        return Ok(());
    };
    let rel = sample.strip_prefix(dir).unwrap_or(&sample);
    let keys: Vec<String> = rel
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| {
                    c.as_os_str()
                        .to_str()?
                        .split_once('=')
                        .map(|(k, _)| percent_decode(k))
                })
                .collect()
        })
        .unwrap_or_default();
    if keys == partition_by {
        return Ok(());
    }
    let shown = |k: &[String]| {
        if k.is_empty() {
            "none".to_string()
        } else {
            k.join(",")
        }
    };
    Err(Error::usage(format!(
        "{}: the table is partitioned by {}, but --partition-by gives {}; use the same columns, or --mode full-refresh to rebuild it",
        dir.display(),
        shown(&keys),
        shown(partition_by)
    )))
}

/// New rows must fit the table: same columns and types, or added columns
/// with `--evolve`.
fn check_schema(dir: &Path, new: &Schema, partition_by: &[String], evolve: bool) -> Result<()> {
    let Some(sample) = walk_files(dir).into_iter().next() else {
        return Ok(());
    };
    let old = crate::format::parquet::scan(&sample, Default::default())?.collect_schema()?;
    let mut problems = Vec::new();
    for (name, dtype) in new.iter() {
        if partition_by.iter().any(|p| p == name.as_str()) {
            continue;
        }
        match old.get(name) {
            None if evolve => {}
            None => problems.push(format!(
                "new column '{name}' ({})",
                crate::dtype::display_dtype(dtype)
            )),
            Some(t) if t != dtype => problems.push(format!(
                "'{name}' is {} in the table but {} in the new rows",
                crate::dtype::display_dtype(t),
                crate::dtype::display_dtype(dtype)
            )),
            _ => {}
        }
    }
    for name in old.iter_names() {
        if !new.contains(name) {
            problems.push(format!("column '{name}' is missing from the new rows"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let hint = if problems.iter().any(|p| p.starts_with("new column")) {
        " (pass --evolve to add new columns)"
    } else {
        ""
    };
    Err(Error::data(format!(
        "{}: the new rows do not fit the table: {}{hint}",
        dir.display(),
        problems.join("; ")
    )))
}

/// Incremental: of new rows sharing a key, the last wins (as when the rows
/// are applied in order, and as for the databases).
fn last_row_per_key(frame: Frame, key: &[String]) -> Result<Frame> {
    let mut frame = frame.into_lazy()?;
    let FrameData::Lazy(lf) = &frame.data else {
        unreachable!("into_lazy gives plans")
    };
    let keys: Vec<Expr> = key.iter().map(|k| col(k.as_str())).collect();
    frame.data = FrameData::Lazy(
        lf.clone()
            .unique_stable_generic(Some(keys), UniqueKeepStrategy::Last),
    );
    frame.rows = None;
    Ok(frame)
}

/// Incremental: the table's rows whose key is not in the new rows, then the
/// new rows; the result replaces the table.
fn merge_with_existing(
    frame: Frame,
    dir: &Path,
    key: &[String],
    partition_by: &[String],
) -> Result<Frame> {
    let mut new = frame.into_lazy()?;
    let new_schema = new.schema()?;
    let FrameData::Lazy(new_lf) = &new.data else {
        unreachable!("into_lazy gives plans")
    };
    let Some(old_lf) = read_table(dir, &new_schema, partition_by)? else {
        return Ok(new);
    };
    let keys: Vec<Expr> = key.iter().map(|k| col(k.as_str())).collect();
    let survivors = old_lf.join(
        new_lf.clone(),
        keys.clone(),
        keys,
        JoinArgs::new(JoinType::Anti),
    );
    // The schemas agree (check_schema); columns added with --evolve are
    // null in the table's rows.
    let merged = concat_lf_diagonal([survivors, new_lf.clone()], union())?;
    new.data = FrameData::Lazy(merged);
    new.rows = None;
    Ok(new)
}

/// The table's rows: every data file, with its partition values (from the
/// folder names, as [`partition_dir_value`] wrote them) typed as in the new
/// rows.
fn read_table(dir: &Path, new: &Schema, partition_by: &[String]) -> Result<Option<LazyFrame>> {
    let mut parts = Vec::new();
    for file in walk_files(dir) {
        let rel = file.strip_prefix(dir).unwrap_or(&file).to_path_buf();
        let mut lf = crate::format::parquet::scan(&file, Default::default())?;
        let values: Vec<(String, Option<String>)> = rel
            .parent()
            .map(|p| {
                p.components()
                    .filter_map(|c| c.as_os_str().to_str()?.split_once('='))
                    .map(|(k, v)| (percent_decode(k), hive_unescape(v)))
                    .collect()
            })
            .unwrap_or_default();
        let cols: Vec<Expr> = partition_by
            .iter()
            .map(|name| {
                let v = values
                    .iter()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| v.clone());
                let dtype = new.get(name).cloned().unwrap_or(DataType::String);
                let value = match v {
                    Some(v) => lit(v),
                    None => lit(NULL).cast(DataType::String),
                };
                value.strict_cast(dtype).alias(name.as_str())
            })
            .collect();
        if !cols.is_empty() {
            lf = lf.with_columns(cols);
        }
        parts.push(lf);
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(concat_lf_diagonal(parts, union())?))
}

/// Concatenation by column name: a column missing from a part is null
/// there; numeric types widen.
fn union() -> UnionArgs {
    UnionArgs {
        rechunk: false,
        parallel: true,
        to_supertypes: true,
        ..Default::default()
    }
}

/// A folder name's partition value: `None` for Hive's null marker, `%XX`
/// escapes decoded.
fn hive_unescape(text: &str) -> Option<String> {
    (text != NULL_PARTITION).then(|| percent_decode(text))
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
