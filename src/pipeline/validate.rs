//! From the pipeline file to a [`Plan`], checking everything that can be
//! checked without touching data: the file's shape, every op, names,
//! variables, locations, load modes, formats. Every problem is collected and
//! reported at once, each with its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::{Codec, Format, ReadOptions, WriteOptions};
use crate::location::Location;
use crate::ops::Op;
use crate::sink::persist::{self, LoadMode, PersistRequest};

use super::expand::Scope;
use super::plan::{Action, Dataset, ExtractSpec, Plan, Stage, TransferSpec};
use super::spec::{Lines, StageLines, PIPELINE_KEYS, STAGE_KEYS};

/// What the command line adds to the file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--var KEY=VALUE`.
    pub vars: BTreeMap<String, String>,
}

/// Reads and validates a pipeline file.
pub fn load(file: &Path, opts: &LoadOptions) -> Result<Plan> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Error::io(format!("{}: {e}", file.display())))?;
    parse(&text, file, opts)
}

struct Problems {
    file: String,
    list: Vec<(usize, String)>,
}

impl Problems {
    fn add(&mut self, line: usize, message: impl Into<String>) {
        self.list.push((line, message.into()));
    }

    fn into_result(mut self) -> Result<()> {
        if self.list.is_empty() {
            return Ok(());
        }
        self.list.sort_by_key(|(line, _)| *line);
        let lines: Vec<String> = self
            .list
            .iter()
            .map(|(line, m)| {
                if *line > 0 {
                    format!("{}:{line}: {m}", self.file)
                } else {
                    format!("{}: {m}", self.file)
                }
            })
            .collect();
        let count = lines.len();
        Err(Error::usage(format!(
            "the pipeline file has {count} problem{}:\n  {}",
            if count == 1 { "" } else { "s" },
            lines.join("\n  ")
        )))
    }
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

    let base = file.parent().unwrap_or(Path::new("."));
    let mut stages = Vec::new();
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
        };
        let stage = ctx.stage(i, &written, &mut names);
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
        stages.extend(stage);
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

/// `layer.name` → `ROOT/layer/name.parquet`.
fn dataset(root: &Path, name: &str) -> Option<Dataset> {
    let (layer, table) = name.split_once('.')?;
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (ok(layer) && ok(table)).then(|| Dataset {
        name: name.to_string(),
        path: root.join(layer).join(format!("{table}.parquet")),
    })
}

struct StageCtx<'a> {
    raw: &'a toml::Table,
    lines: &'a StageLines,
    scope: &'a Scope,
    problems: &'a mut Problems,
    label: String,
    root: &'a Path,
    base: &'a Path,
}

impl StageCtx<'_> {
    fn line(&self, key: &str) -> usize {
        self.lines
            .keys
            .get(key)
            .copied()
            .unwrap_or(self.lines.start)
    }

    fn problem(&mut self, key: &str, message: impl std::fmt::Display) {
        let line = self.line(key);
        let label = self.label.clone();
        self.problems.add(line, format!("{label}{message}"));
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.raw.get(key) {
            None => None,
            Some(toml::Value::String(s)) => match self.scope.expand(s) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.problem(key, format!("{key}: {e}"));
                    None
                }
            },
            Some(_) => {
                self.problem(key, format!("{key} must be text"));
                None
            }
        }
    }

    fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        match self.raw.get(key) {
            None => None,
            Some(toml::Value::String(_)) => self.string(key).map(|s| vec![s]),
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item.as_str().map(|s| self.scope.expand(s)) {
                        Some(Ok(v)) => out.push(v),
                        Some(Err(e)) => self.problem(key, format!("{key}: {e}")),
                        None => self.problem(key, format!("{key} must be a list of text")),
                    }
                }
                Some(out)
            }
            Some(_) => {
                self.problem(key, format!("{key} must be text or a list of text"));
                None
            }
        }
    }

    fn number(&mut self, key: &str) -> Option<f64> {
        match self.raw.get(key) {
            None => None,
            Some(toml::Value::Integer(n)) => Some(*n as f64),
            Some(toml::Value::Float(f)) => Some(*f),
            Some(_) => {
                self.problem(key, format!("{key} must be a number"));
                None
            }
        }
    }

    fn dataset_key(&mut self, key: &str) -> Option<Dataset> {
        let raw = self.raw.get(key)?.as_str().map(str::to_string);
        match raw.as_deref().and_then(|n| dataset(self.root, n)) {
            Some(d) => Some(d),
            None => {
                self.problem(key, format!("{key} must name a dataset as LAYER.NAME (e.g. silver.presc): letters, digits and _"));
                None
            }
        }
    }

    fn stage(
        &mut self,
        index: usize,
        written: &BTreeMap<String, String>,
        names: &mut BTreeMap<String, usize>,
    ) -> Option<Stage> {
        let name = match self.raw.get("name").and_then(|v| v.as_str()) {
            Some(n) if !n.is_empty() && !n.contains(',') => n.to_string(),
            Some(_) => {
                self.problem("name", "a stage name must be non-empty text without commas");
                format!("stage {}", index + 1)
            }
            None => {
                self.problem("name", format!("stage {} needs a name", index + 1));
                format!("stage {}", index + 1)
            }
        };
        self.label = format!("stage '{name}': ");
        if let Some(first) = names.insert(name.clone(), self.lines.start) {
            self.problem(
                "name",
                format!("the name is already used by the stage at line {first}"),
            );
        }
        for key in self.raw.keys() {
            if !STAGE_KEYS.contains(&key.as_str()) {
                self.problem(
                    key,
                    format!("unknown key '{key}' (known: {})", STAGE_KEYS.join(", ")),
                );
            }
        }
        let kinds: Vec<&str> = [
            "ingest", "ops", "ops-file", "persist", "extract", "transfer", "report",
        ]
        .into_iter()
        .filter(|k| self.raw.contains_key(*k))
        .collect();
        let kind = match kinds.as_slice() {
            [one] => *one,
            [] => {
                self.problem("name", "say what the stage does with one of: ingest, ops (or ops-file), persist, extract, transfer, report");
                return None;
            }
            many => {
                self.problem(
                    many[1],
                    format!(
                        "a stage does one thing, but this one has {}: split it into stages",
                        many.join(" and ")
                    ),
                );
                return None;
            }
        };
        let input = if matches!(kind, "ops" | "ops-file" | "persist" | "extract" | "report") {
            match self.raw.contains_key("input") {
                true => self.dataset_key("input"),
                false => {
                    self.problem(
                        "name",
                        format!(
                            "a {kind} stage needs input = \"LAYER.NAME\" (the dataset it reads)"
                        ),
                    );
                    None
                }
            }
        } else {
            None
        };
        if let Some(d) = &input {
            if !written.contains_key(&d.name) {
                self.problem("input", format!("no earlier stage writes dataset '{}' (datasets are written with output = \"{}\")", d.name, d.name));
            }
        }
        let action = match kind {
            "ingest" => self.ingest(),
            "ops" | "ops-file" => self.ops(input.clone()?),
            "persist" => self.persist(input.clone()?),
            "extract" => self.extract(input.clone()?),
            "report" => self.report(input.clone()?),
            _ => self.transfer(),
        }?;
        let description = self.string("description");
        Some(Stage {
            name,
            line: self.lines.start,
            description,
            action,
        })
    }

    fn output(&mut self) -> Option<Dataset> {
        if !self.raw.contains_key("output") {
            self.problem("name", "this stage needs output = \"LAYER.NAME\" (e.g. bronze.presc): the dataset it writes");
            return None;
        }
        self.dataset_key("output")
    }

    fn ingest(&mut self) -> Option<Action> {
        let inputs: Vec<Location> = self
            .strings("ingest")
            .unwrap_or_default()
            .iter()
            .filter_map(|s| match Location::parse(s) {
                Ok(Location::Stdio) => {
                    self.problem("ingest", "a pipeline cannot read stdin: give a path or URL");
                    None
                }
                Ok(l) => Some(l),
                Err(e) => {
                    self.problem("ingest", e.message);
                    None
                }
            })
            .collect();
        if inputs.is_empty() {
            self.problem("ingest", "ingest needs at least one location");
        }
        let read = self.read_options();
        let source_column = self.string("add-source-column");
        let output = self.output()?;
        Some(Action::Ingest {
            inputs,
            read: read?,
            source_column,
            output,
        })
    }

    fn read_options(&mut self) -> Option<ReadOptions> {
        let mut read = ReadOptions::default();
        let table = match self.raw.get("read") {
            None => return Some(read),
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => {
                self.problem(
                    "read",
                    "read must be a table, e.g. read = { format = \"csv\", delimiter = \";\" }",
                );
                return None;
            }
        };
        let mut ok = true;
        for (key, value) in &table {
            let text = value.as_str().map(|s| self.scope.expand(s));
            let text = match text {
                Some(Err(e)) => {
                    self.problem("read", format!("read.{key}: {e}"));
                    ok = false;
                    continue;
                }
                Some(Ok(t)) => Some(t),
                None => None,
            };
            let one_byte = |t: &Option<String>| match t.as_deref() {
                Some("tab") | Some("\\t") => Some(b'\t'),
                Some(s) if s.len() == 1 => Some(s.as_bytes()[0]),
                _ => None,
            };
            let result: std::result::Result<(), String> = match key.as_str() {
                "format" => match text.as_deref().map(str::parse::<Format>) {
                    Some(Ok(f)) => {
                        read.format = Some(f);
                        Ok(())
                    }
                    Some(Err(e)) => Err(e.message),
                    None => Err("read.format must be text".into()),
                },
                "delimiter" => one_byte(&text)
                    .map(|b| read.csv.delimiter = Some(b))
                    .ok_or_else(|| "read.delimiter must be one character (or \"tab\")".into()),
                "quote" => one_byte(&text)
                    .map(|b| read.csv.quote = Some(b))
                    .ok_or_else(|| "read.quote must be one character".into()),
                "header" => value
                    .as_bool()
                    .map(|b| read.csv.has_header = b)
                    .ok_or_else(|| "read.header must be true or false".into()),
                "encoding" => text
                    .map(|t| read.csv.encoding = t)
                    .ok_or_else(|| "read.encoding must be text".into()),
                "null-values" => match value.as_array() {
                    Some(items) if items.iter().all(|v| v.is_str()) => {
                        read.csv.null_values = items
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect();
                        Ok(())
                    }
                    _ => Err("read.null-values must be a list of text".into()),
                },
                "sheet" => text
                    .map(|t| read.sheet = Some(t))
                    .ok_or_else(|| "read.sheet must be text".into()),
                "infer-rows" => value
                    .as_integer()
                    .filter(|n| *n > 0)
                    .map(|n| read.infer_rows = Some(n as usize))
                    .ok_or_else(|| "read.infer-rows must be a positive number".into()),
                other => Err(format!(
                    "unknown read option '{other}' (known: format, delimiter, quote, header, encoding, null-values, sheet, infer-rows)"
                )),
            };
            if let Err(e) = result {
                self.problem("read", e);
                ok = false;
            }
        }
        ok.then_some(read)
    }

    fn ops(&mut self, input: Dataset) -> Option<Action> {
        let ops = if self.raw.contains_key("ops-file") {
            self.ops_file()
        } else {
            self.inline_ops()
        };
        let output = self.output();
        let rejects = if self.raw.contains_key("rejects") {
            self.dataset_key("rejects")
        } else {
            None
        };
        let max_rejects = self.number("max-rejects").map(|n| n as u64);
        let max_reject_pct = self.number("max-reject-pct");
        Some(Action::Ops {
            input,
            ops: ops?,
            output: output?,
            rejects,
            max_rejects,
            max_reject_pct,
        })
    }

    fn inline_ops(&mut self) -> Option<Vec<Op>> {
        let Some(toml::Value::Array(items)) = self.raw.get("ops") else {
            self.problem(
                "ops",
                "ops must be a list of ops, e.g. ops = [ { upper = [\"city\"] } ]",
            );
            return None;
        };
        let items = items.clone();
        let mut ops = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let line = self.lines.ops.get(i).copied().unwrap_or(self.line("ops"));
            match self.op(item) {
                Ok(op) => ops.push(op),
                Err(e) => {
                    let label = self.label.clone();
                    self.problems.add(line, format!("{label}op {}: {e}", i + 1));
                    ok = false;
                }
            }
        }
        ok.then_some(ops)
    }

    fn op(&self, item: &toml::Value) -> std::result::Result<Op, String> {
        let expanded = self.scope.expand_value(item)?;
        expanded
            .try_into::<Op>()
            .map_err(|e| one_line(&e.to_string()))
    }

    fn ops_file(&mut self) -> Option<Vec<Op>> {
        let name = self.string("ops-file")?;
        let path = self.base.join(&name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                self.problem("ops-file", format!("ops-file {}: {e}", path.display()));
                return None;
            }
        };
        let parsed: std::result::Result<toml::Table, _> = toml::from_str(&text);
        let items = match parsed.as_ref().map(|t| t.get("ops")) {
            Ok(Some(toml::Value::Array(items))) => items.clone(),
            Ok(_) => {
                self.problem("ops-file", format!("{}: no [[ops]] tables", path.display()));
                return None;
            }
            Err(e) => {
                self.problem(
                    "ops-file",
                    format!("{}: {}", path.display(), one_line(&e.to_string())),
                );
                return None;
            }
        };
        let mut ops = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.op(item) {
                Ok(op) => ops.push(op),
                Err(e) => {
                    self.problem("ops-file", format!("{}: op {}: {e}", path.display(), i + 1));
                    ok = false;
                }
            }
        }
        ok.then_some(ops)
    }

    fn persist(&mut self, input: Dataset) -> Option<Action> {
        let items = match self.raw.get("persist") {
            Some(toml::Value::Array(items)) => items.clone(),
            Some(toml::Value::Table(t)) => vec![toml::Value::Table(t.clone())],
            _ => {
                self.problem("persist", "persist must be a list of targets, e.g. persist = [ { target = \"warehouse/\", table = \"db.t\", mode = \"append\" } ]");
                return None;
            }
        };
        let mut targets = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let line = self
                .lines
                .persist
                .get(i)
                .copied()
                .unwrap_or(self.line("persist"));
            match self.persist_target(item) {
                Ok(t) => targets.push(t),
                Err(e) => {
                    let label = self.label.clone();
                    self.problems
                        .add(line, format!("{label}persist target {}: {e}", i + 1));
                    ok = false;
                }
            }
        }
        ok.then_some(Action::Persist { input, targets })
    }

    fn persist_target(&self, item: &toml::Value) -> std::result::Result<PersistRequest, String> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        struct Target {
            target: String,
            table: String,
            #[serde(default)]
            mode: Option<String>,
            #[serde(default)]
            partition_by: Vec<String>,
            #[serde(default)]
            primary_key: Vec<String>,
            #[serde(default)]
            evolve: bool,
        }
        let t: Target = self
            .scope
            .expand_value(item)?
            .try_into()
            .map_err(|e: toml::de::Error| one_line(&e.to_string()))?;
        let request = PersistRequest {
            target: Location::parse(&t.target).map_err(|e| e.message)?,
            table: t.table,
            mode: t
                .mode
                .as_deref()
                .unwrap_or("append")
                .parse::<LoadMode>()
                .map_err(|e| e.message.replace("--mode", "mode"))?,
            partition_by: t.partition_by,
            primary_key: t.primary_key,
            evolve: t.evolve,
        };
        persist::validate(&request).map_err(|e| e.message)?;
        Ok(request)
    }

    fn extract(&mut self, input: Dataset) -> Option<Action> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        struct Extract {
            path: String,
            #[serde(default)]
            format: Option<String>,
            #[serde(default)]
            compression: Option<String>,
            #[serde(default)]
            files: Option<usize>,
        }
        let parsed = self
            .raw
            .get("extract")
            .map(|v| self.scope.expand_value(v))
            .transpose()
            .and_then(|v| {
                v.ok_or_else(String::new)?
                    .try_into::<Extract>()
                    .map_err(|e| one_line(&e.to_string()))
            });
        let e = match parsed {
            Ok(e) => e,
            Err(msg) => {
                self.problem("extract", format!("extract: {msg} (write extract = {{ path = \"...\", format = \"json\", compression = \"bz2\", files = 1 }})"));
                return None;
            }
        };
        let path = PathBuf::from(&e.path);
        let by_name = Format::from_path(&path);
        let format = match e.format.as_deref().map(str::parse::<Format>) {
            Some(Ok(f)) => f,
            Some(Err(err)) => {
                self.problem("extract", err.message);
                return None;
            }
            None => {
                match by_name {
                    Some((f, _)) => f,
                    None => {
                        self.problem("extract", format!("cannot tell the format of '{}': add an extension or format = \"...\"", e.path));
                        return None;
                    }
                }
            }
        };
        let codec = match e.compression.as_deref() {
            Some(c) => c.parse::<Codec>().and_then(|c| c.check_for(format)),
            None => match by_name.map(|(_, c)| c).filter(|c| *c != Codec::None) {
                Some(c) => c.check_for(format),
                None => Ok(Codec::allowed_for(format)[0]),
            },
        };
        let codec = match codec {
            Ok(c) => c,
            Err(err) => {
                self.problem("extract", err.message);
                return None;
            }
        };
        if e.files == Some(0) {
            self.problem("extract", "files must be at least 1");
            return None;
        }
        let mut options = WriteOptions::new(format);
        options.codec = codec;
        Some(Action::Extract {
            input,
            spec: ExtractSpec {
                path,
                options,
                files: e.files.filter(|n| *n > 1),
            },
        })
    }

    fn report(&mut self, input: Dataset) -> Option<Action> {
        let parsed = self
            .raw
            .get("report")
            .map(|v| self.scope.expand_value(v))
            .transpose()
            .and_then(|v| {
                v.ok_or_else(String::new)?
                    .try_into::<crate::report::ReportStage>()
                    .map_err(|e| one_line(&e.to_string()))
            });
        match parsed.map(|r| r.charts().map(|_| r).map_err(|e| e.message)) {
            Ok(Ok(spec)) => Some(Action::Report { input, spec }),
            Ok(Err(msg)) | Err(msg) => {
                self.problem("report", format!("report: {msg} (write report = {{ path = \"report.html\", charts = [\"bar x=COL y=sum(COL)\"] }})"));
                None
            }
        }
    }

    fn transfer(&mut self) -> Option<Action> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        struct Transfer {
            from: Vec<String>,
            to: Vec<String>,
            #[serde(default)]
            recursive: bool,
            #[serde(default)]
            include: Vec<String>,
            #[serde(default)]
            exclude: Vec<String>,
            #[serde(default)]
            checksum: bool,
            #[serde(default)]
            retries: Option<u32>,
            #[serde(default)]
            identity: Option<String>,
            #[serde(default)]
            known_hosts: Option<String>,
        }
        let parsed = self
            .raw
            .get("transfer")
            .map(|v| self.scope.expand_value(v))
            .transpose()
            .and_then(|v| {
                v.ok_or_else(String::new)?
                    .try_into::<Transfer>()
                    .map_err(|e| one_line(&e.to_string()))
            });
        let t = match parsed {
            Ok(t) => t,
            Err(msg) => {
                self.problem("transfer", format!("transfer: {msg} (write transfer = {{ from = [\"...\"], to = [\"s3://bucket/prefix/\"], recursive = true }})"));
                return None;
            }
        };
        let mut ok = !t.from.is_empty() && !t.to.is_empty();
        if !ok {
            self.problem(
                "transfer",
                "transfer needs at least one location in from and in to",
            );
        }
        for loc in t.from.iter().chain(&t.to) {
            match Location::parse(loc) {
                Ok(Location::Stdio) => {
                    self.problem(
                        "transfer",
                        "transfer copies files: '-' is not a location here",
                    );
                    ok = false;
                }
                Ok(Location::Remote(r))
                    if matches!(
                        r.scheme,
                        crate::location::Scheme::Postgres
                            | crate::location::Scheme::Mysql
                            | crate::location::Scheme::Sqlite
                    ) =>
                {
                    self.problem(
                        "transfer",
                        format!(
                            "{}: transfer copies files; load tables with a persist stage",
                            crate::location::redact(loc)
                        ),
                    );
                    ok = false;
                }
                Ok(_) => {}
                Err(e) => {
                    self.problem("transfer", e.message);
                    ok = false;
                }
            }
        }
        ok.then_some(Action::Transfer(TransferSpec {
            from: t.from,
            to: t.to,
            recursive: t.recursive,
            include: t.include,
            exclude: t.exclude,
            checksum: t.checksum,
            retries: t.retries,
            identity: t.identity.filter(|s| !s.is_empty()).map(PathBuf::from),
            known_hosts: t.known_hosts.filter(|s| !s.is_empty()).map(PathBuf::from),
        }))
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.starts_with("TOML parse error"))
        .collect::<Vec<_>>()
        .join(" ")
}
