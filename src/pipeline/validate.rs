//! From the pipeline file to a [`Plan`], checking everything that can be
//! checked without touching data: the file's shape, every op, names,
//! variables, locations, load modes, formats. Every problem is collected and
//! reported at once, each with its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::expand::Scope;
use super::graph;
use super::plan::Plan;
use super::problems::{one_line, Problems};
use super::spec::{Lines, PIPELINE_KEYS};
use super::stage::{dataset, StageCtx, Writers};

/// What the command line adds to the file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--var KEY=VALUE`.
    pub vars: BTreeMap<String, String>,
    /// `--engine spark`: also report every op or input without a Spark translation.
    pub spark: bool,
}

/// Reads and validates a pipeline file.
pub fn load(file: &Path, opts: &LoadOptions) -> Result<Plan> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Error::io(format!("{}: {e}", file.display())))?;
    parse(&text, file, opts)
}

/// Validates pipeline text as if read from `file` (which names it in
/// messages and anchors relative paths); the fuzz target's entry point.
pub fn parse_text(text: &str, file: &Path, opts: &LoadOptions) -> Result<Plan> {
    parse(text, file, opts)
}

pub(super) fn parse(text: &str, file: &Path, opts: &LoadOptions) -> Result<Plan> {
    let shown = file.display().to_string();
    let doc: toml::Table = toml::from_str(text)
        .map_err(|e| Error::usage(format!("{shown}: {}", one_line(&e.to_string()))))?;
    let lines = Lines::of(text);
    let mut problems = Problems {
        file: shown.clone(),
        list: Vec::new(),
    };
    for key in doc.keys() {
        if !["pipeline", "vars", "stage"].contains(&key.as_str()) {
            problems.add(
                0,
                format!("unknown section '{key}' (known: [pipeline], [vars], [[stage]])"),
            );
        }
    }
    let meta = table(&doc, "pipeline", &mut problems);
    for key in meta.keys() {
        if !PIPELINE_KEYS.contains(&key.as_str()) {
            problems.add(
                lines.pipeline_key(key).unwrap_or(0),
                format!(
                    "[pipeline]: unknown key '{key}' (known: {})",
                    PIPELINE_KEYS.join(", ")
                ),
            );
        }
    }
    let text_of =
        |t: &toml::Table, key: &str| t.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let name = text_of(&meta, "name").unwrap_or_else(|| {
        file.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pipeline".into())
    });

    let mut scope = Scope {
        overrides: opts.vars.clone(),
        ..Scope::default()
    };
    let run_date = opts
        .vars
        .get("run_date")
        .cloned()
        .unwrap_or_else(|| chrono::Local::now().date_naive().to_string());
    let date = match chrono::NaiveDate::parse_from_str(&run_date, "%Y-%m-%d") {
        Ok(d) => d,
        Err(_) => {
            problems.add(
                0,
                format!("run_date '{run_date}' is not a date: write YYYY-MM-DD"),
            );
            chrono::Local::now().date_naive()
        }
    };
    // The run date, then the start time to the millisecond: two runs of the
    // same date within one second still get their own manifest.
    let run_id = opts.vars.get("run_id").cloned().unwrap_or_else(|| {
        format!(
            "{}-{}",
            date.format("%Y%m%d"),
            chrono::Utc::now().format("%H%M%S%3f")
        )
    });
    for (k, v) in [
        ("pipeline", name.clone()),
        ("run_date", date.to_string()),
        ("run_id", run_id.clone()),
        ("yyyy", date.format("%Y").to_string()),
        ("mm", date.format("%m").to_string()),
        ("dd", date.format("%d").to_string()),
    ] {
        scope.values.insert(k.to_string(), v);
    }
    let root_text = text_of(&meta, "root").unwrap_or_else(|| "out/{pipeline}".to_string());
    let root = match scope.expand(&root_text) {
        Ok(r) => r,
        Err(e) => {
            problems.add(
                lines.pipeline_key("root").unwrap_or(0),
                format!("root: {e}"),
            );
            format!("out/{name}")
        }
    };
    scope.values.insert("root".into(), root.clone());
    resolve_vars(&doc, &lines, &mut scope, &mut problems);

    let stages_raw: Vec<toml::Table> = match doc.get("stage") {
        None => {
            problems.add(
                0,
                "no [[stage]] tables: a pipeline needs at least one stage",
            );
            Vec::new()
        }
        Some(toml::Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v {
                toml::Value::Table(t) => Some(t.clone()),
                _ => {
                    problems.add(
                        lines.stage(i).start,
                        "each stage must be a table ([[stage]])",
                    );
                    None
                }
            })
            .collect(),
        Some(_) => {
            problems.add(
                0,
                "'stage' must be an array of tables: write [[stage]] before each stage",
            );
            Vec::new()
        }
    };

    // Datasets are known by name before the stages are read, so that ops
    // can refer to any of them as {layer.name}.
    let root_path = PathBuf::from(&root);
    for t in &stages_raw {
        for key in ["output", "rejects"] {
            if let Some(n) = t.get(key).and_then(|v| v.as_str()) {
                if let Some(d) = dataset(&root_path, n) {
                    scope
                        .values
                        .insert(d.name.clone(), d.path.to_string_lossy().into_owned());
                }
            }
        }
    }

    // Which stage writes each dataset, wherever it is in the file.
    let mut writers: Writers = BTreeMap::new();
    let mut datasets = BTreeMap::new();
    for (i, t) in stages_raw.iter().enumerate() {
        let stage_name = t.get("name").and_then(|v| v.as_str()).unwrap_or("?");
        for key in ["output", "rejects"] {
            if let Some(d) = t
                .get(key)
                .and_then(|v| v.as_str())
                .and_then(|n| dataset(&root_path, n))
            {
                writers
                    .entry(d.name.clone())
                    .or_insert((stage_name.to_string(), i));
                datasets.entry(d.name).or_insert((
                    d.path,
                    stage_name.to_string(),
                    lines.stage(i).start,
                ));
            }
        }
    }
    let all_names: Vec<String> = stages_raw
        .iter()
        .filter_map(|t| t.get("name").and_then(|v| v.as_str()).map(str::to_string))
        .collect();

    let base = file.parent().unwrap_or(Path::new("."));
    let mut stages = Vec::new();
    let mut declared = Vec::new();
    let mut written: BTreeMap<String, String> = BTreeMap::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in stages_raw.iter().enumerate() {
        let at = lines.stage(i);
        let mut ctx = StageCtx {
            raw,
            lines: &at,
            scope: &scope,
            problems: &mut problems,
            label: String::new(),
            root: &root_path,
            base,
            declared: Vec::new(),
        };
        let stage = ctx.stage(i, &writers, &mut names);
        let needs = std::mem::take(&mut ctx.declared);
        if opts.spark {
            stage
                .iter()
                .for_each(|s| super::on_spark::check(s, &at, &mut problems));
        }
        // A stage with problems still counts as writing its output, so that
        // later stages are not blamed for it.
        let stage_name = raw.get("name").and_then(|v| v.as_str()).unwrap_or("?");
        if let Some(out) = raw.get("output").and_then(|v| v.as_str()) {
            if let Some(previous) = written.insert(out.to_string(), stage_name.to_string()) {
                problems.add(
                    at.keys.get("output").copied().unwrap_or(at.start),
                    format!(
                        "stage '{stage_name}': dataset '{out}' is already written by stage '{previous}'"
                    ),
                );
            }
        }
        if let Some(mut stage) = stage {
            let (io, fingerprint) = graph::io_of(&stage, raw, &scope, base);
            stage.fingerprint = fingerprint;
            stages.push(stage);
            declared.push((needs, at.keys.get("needs").copied().unwrap_or(at.start), io));
        }
    }
    let links = {
        let declared: Vec<graph::Declared> = stages
            .iter()
            .zip(declared)
            .map(|(stage, (needs, needs_line, io))| graph::Declared {
                stage,
                needs,
                needs_line,
                io,
            })
            .collect();
        graph::link(&declared, &all_names, &datasets, &mut problems)
    };
    for (stage, needs) in stages.iter_mut().zip(links) {
        stage.needs = needs;
    }
    problems.into_result()?;

    let expand_meta = |key: &str, default: String| -> Result<PathBuf> {
        let text = text_of(&meta, key).unwrap_or(default);
        scope
            .expand(&text)
            .map(PathBuf::from)
            .map_err(|e| Error::usage(format!("{shown}: [pipeline] {key}: {e}")))
    };
    Ok(Plan {
        manifest: expand_meta("manifest", "{root}/_runs/{run_id}.json".into())?,
        lock: expand_meta("lock", "{root}/.{pipeline}.lock".into())?,
        name,
        file: file.to_path_buf(),
        root: root_path,
        run_date: date.to_string(),
        run_id,
        stages,
        spark: None,
    })
}

fn table(doc: &toml::Table, key: &str, problems: &mut Problems) -> toml::Table {
    match doc.get(key) {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => {
            problems.add(0, format!("'{key}' must be a table: write [{key}]"));
            toml::Table::new()
        }
    }
}

/// `[vars]` may use the environment, runtime values and each other, in
/// any order.
fn resolve_vars(doc: &toml::Table, lines: &Lines, scope: &mut Scope, problems: &mut Problems) {
    let Some(toml::Value::Table(vars)) = doc.get("vars") else {
        return;
    };
    let mut pending: Vec<(String, String)> = Vec::new();
    for (k, v) in vars {
        match v.as_str() {
            Some(s) => pending.push((k.clone(), s.to_string())),
            // Numbers and booleans stand as written.
            None => {
                scope.values.insert(k.clone(), v.to_string());
            }
        }
    }
    loop {
        let before = pending.len();
        let mut errors = Vec::new();
        pending.retain(|(k, text)| match scope.expand(text) {
            Ok(v) => {
                scope.values.insert(k.clone(), v);
                false
            }
            Err(e) => {
                errors.push((k.clone(), e));
                true
            }
        });
        if pending.is_empty() || pending.len() == before {
            for (k, e) in errors {
                problems.add(lines.var(&k).unwrap_or(0), format!("[vars] {k}: {e}"));
            }
            return;
        }
    }
}
