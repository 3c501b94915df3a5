//! One `[[stage]]` table to a [`Stage`]: each kind (ingest, ops, persist,
//! extract, transfer) with its keys, every problem reported with its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::db::load::LoadTarget;
use crate::format::{ReadOptions, ReadSpec, WriteSpec};
use crate::location::Location;
use crate::ops::Op;
use crate::sink::persist::PersistRequest;
use crate::transfer::TransferOptions;

use super::expand::Scope;
use super::plan::{Action, Dataset, ExtractSpec, Stage, TransferSpec};
use super::problems::{one_line, Problems};
use super::spec::{StageLines, STAGE_KEYS};

/// `layer.name` → `ROOT/layer/name.parquet`.
pub(super) fn dataset(root: &Path, name: &str) -> Option<Dataset> {
    let (layer, table) = name.split_once('.')?;
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (ok(layer) && ok(table)).then(|| Dataset {
        name: name.to_string(),
        path: root.join(layer).join(format!("{table}.parquet")),
    })
}

pub(super) struct StageCtx<'a> {
    pub raw: &'a toml::Table,
    pub lines: &'a StageLines,
    pub scope: &'a Scope,
    pub problems: &'a mut Problems,
    pub label: String,
    pub root: &'a Path,
    pub base: &'a Path,
    /// The stage names in `needs`, as written.
    pub declared: Vec<String>,
}

/// Which stage writes each dataset: its name and index in the file.
pub(super) type Writers = BTreeMap<String, (String, usize)>;

impl StageCtx<'_> {
    fn line(&self, key: &str) -> usize {
        self.lines
            .keys
            .get(key)
            .copied()
            .unwrap_or(self.lines.start)
    }

    pub(super) fn problem(&mut self, key: &str, message: impl std::fmt::Display) {
        let line = self.line(key);
        let label = self.label.clone();
        self.problems.add(line, format!("{label}{message}"));
    }

    pub(super) fn string(&mut self, key: &str) -> Option<String> {
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

    pub(super) fn stage(
        &mut self,
        index: usize,
        writers: &Writers,
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
        self.declared = self.needs();
        let (retries, retry_delay, timeout) = self.retry_policy();
        if let Some(d) = &input {
            match writers.get(&d.name) {
                None => self.problem("input", format!("no stage writes dataset '{}' (datasets are written with output = \"{}\")", d.name, d.name)),
                Some((writer, at)) if *at > index && !self.declared.contains(writer) => self.problem(
                    "input",
                    format!("dataset '{}' is read here before any stage writes it: stage '{writer}' writes it later in the file (move this stage after it, or add needs = [\"{writer}\"])", d.name),
                ),
                Some(_) => {}
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
            needs: Vec::new(),
            retries: retries?,
            retry_delay: retry_delay?,
            timeout: timeout?,
            fingerprint: String::new(),
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

    /// `read = { … }`: the same options as `etl ingest`'s input flags.
    fn read_options(&mut self) -> Option<ReadOptions> {
        let Some(raw) = self.raw.get("read") else {
            return Some(ReadOptions::default());
        };
        if !raw.is_table() {
            self.problem(
                "read",
                "read must be a table, e.g. read = { format = \"csv\", delimiter = \";\" }",
            );
            return None;
        }
        let resolved = self
            .scope
            .expand_value(raw)
            .and_then(|v| {
                v.try_into::<ReadSpec>()
                    .map_err(|e| format!("read: {}", one_line(&e.to_string())))
            })
            .and_then(|spec| {
                spec.resolve(&|key| format!("read.{key}"))
                    .map_err(|e| e.message)
            });
        match resolved {
            Ok(read) => Some(read),
            Err(msg) => {
                self.problem("read", msg);
                None
            }
        }
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
        let t: LoadTarget = self
            .scope
            .expand_value(item)?
            .try_into()
            .map_err(|e: toml::de::Error| one_line(&e.to_string()))?;
        let request = t.resolve().map_err(|e| e.message)?;
        crate::step::validate_persist(&request).map_err(|e| e.message)?;
        Ok(request)
    }

    /// `extract = { path = "…", files = N, … }`: the other keys are the
    /// same options as `etl ingest`'s output flags.
    fn extract(&mut self, input: Dataset) -> Option<Action> {
        const EXAMPLE: &str = "write extract = { path = \"...\", format = \"json\", compression = \"bz2\", files = 1 }";
        let parsed = self
            .raw
            .get("extract")
            .map(|v| self.scope.expand_value(v))
            .transpose()
            .and_then(|v| {
                let mut table = match v {
                    Some(toml::Value::Table(t)) => t,
                    _ => return Err("extract must be a table".to_string()),
                };
                let path = match table.remove("path") {
                    Some(toml::Value::String(p)) => p,
                    Some(_) => return Err("path must be text".into()),
                    None => return Err("missing field `path`".into()),
                };
                let files = match table.remove("files") {
                    None => None,
                    Some(toml::Value::Integer(n)) if n >= 1 => Some(n as usize),
                    Some(_) => return Err("files must be at least 1".into()),
                };
                let spec = toml::Value::Table(table)
                    .try_into::<WriteSpec>()
                    .map_err(|e| one_line(&e.to_string()))?;
                let path = PathBuf::from(path);
                let options = spec
                    .resolve(Some(&path), &|key| format!("extract.{key}"))
                    .map_err(|e| e.message)?;
                Ok((path, options, files))
            });
        match parsed {
            Ok((path, options, files)) => Some(Action::Extract {
                input,
                spec: ExtractSpec {
                    path,
                    options,
                    files: files.filter(|n| *n > 1),
                },
            }),
            Err(msg) => {
                self.problem("extract", format!("extract: {msg} ({EXAMPLE})"));
                None
            }
        }
    }

    fn transfer(&mut self) -> Option<Action> {
        let parsed = self
            .raw
            .get("transfer")
            .map(|v| self.scope.expand_value(v))
            .transpose()
            .and_then(|v| {
                let mut table = match v {
                    Some(toml::Value::Table(t)) => t,
                    _ => return Err("transfer must be a table".to_string()),
                };
                let mut list = |key: &str| -> Result<Vec<String>, String> {
                    match table.remove(key) {
                        None => Err(format!("missing field `{key}`")),
                        Some(v) => v
                            .try_into::<Vec<String>>()
                            .map_err(|_| format!("{key} must be a list of locations")),
                    }
                };
                let (from, to) = (list("from")?, list("to")?);
                let options = toml::Value::Table(table)
                    .try_into::<TransferOptions>()
                    .map_err(|e| one_line(&e.to_string()))?;
                Ok(TransferSpec { from, to, options })
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
        ok.then_some(Action::Transfer(t))
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
}
