//! `--resume`: continue the latest failed or interrupted run of a pipeline
//! from its manifest. The run keeps its run id and run date (so every
//! `{run_date}` and `{run_id}` path is the same), stages that succeeded are
//! reused, and the others run, with every stage downstream of them.
//!
//! Resuming is refused when it could mix old and new results: when no
//! earlier run failed, when a stage to reuse has changed (its definition,
//! variables expanded, differs from what the manifest recorded), or when a
//! file it wrote is gone or has changed since (its SHA-256 differs).
//! Stages that did not succeed may change freely: fixing them is the point.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::graph::downstream;
use super::manifest::{self, Manifest, RunStatus, StageRecord, StageStatus};
use super::plan::Plan;

/// The manifest of the latest run of `plan`'s pipeline, found beside where
/// this run's manifest goes (or at `manifest`, when given), if it did not
/// succeed.
pub fn latest_unfinished(plan: &Plan, manifest: Option<&Path>) -> Result<(PathBuf, Manifest)> {
    let refuse = |m: String| Error::usage(format!("--resume: {m}"));
    let (path, m) = match manifest {
        Some(p) => {
            if !p.exists() {
                return Err(refuse(format!(
                    "no manifest at {}: nothing to resume",
                    p.display()
                )));
            }
            (p.to_path_buf(), Manifest::load(p)?)
        }
        None => {
            let dir = plan
                .manifest
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            // A manifest this etl cannot read is named when nothing else is found,
            // instead of passing silently for "no earlier run".
            let mut unreadable: Vec<String> = Vec::new();
            let mut found: Vec<(chrono::DateTime<chrono::FixedOffset>, PathBuf, Manifest)> =
                std::fs::read_dir(dir)
                    .map(|d| {
                        d.filter_map(|e| e.ok().map(|e| e.path()))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .filter_map(|p| {
                        let m = Manifest::load(&p)
                            .map_err(|e| unreadable.push(e.message))
                            .ok()?;
                        let t = chrono::DateTime::parse_from_rfc3339(&m.started).ok()?;
                        (m.pipeline == plan.name).then_some((t, p, m))
                    })
                    .collect();
            found.sort_by_key(|(t, _, _)| *t);
            match found.pop() {
                Some((_, p, m)) => (p, m),
                None => {
                    let why = match unreadable.first() {
                        Some(first) => format!(
                            " ({} file(s) there could not be read as manifests; the first: {first})",
                            unreadable.len()
                        ),
                        None => String::new(),
                    };
                    return Err(refuse(format!(
                        "no earlier run of pipeline '{}' in {}: nothing to resume{why}",
                        plan.name,
                        dir.display()
                    )));
                }
            }
        }
    };
    if m.pipeline != plan.name {
        return Err(refuse(format!(
            "{} is a manifest of pipeline '{}', not '{}'",
            path.display(),
            m.pipeline,
            plan.name
        )));
    }
    if m.status == RunStatus::Succeeded {
        return Err(refuse(format!(
            "the latest run {} of '{}' (started {}) succeeded: nothing to resume; run without --resume for a new run",
            m.run_id, m.pipeline, m.started
        )));
    }
    Ok((path, m))
}

/// What a resumed run does with each stage: the stages to run now, and
/// the records of the stages it reuses.
pub(super) struct Resumption {
    pub todo: Vec<bool>,
    pub reused: Vec<Option<StageRecord>>,
    /// Stages left out of the earlier run by --only or --from stay out.
    pub picked: Vec<bool>,
}

pub(super) fn plan_resumption(plan: &Plan, previous: &Manifest) -> Result<Resumption> {
    let old: Vec<Option<&StageRecord>> = plan
        .stages
        .iter()
        .map(|s| previous.stages.iter().find(|r| r.name == s.name))
        .collect();
    let picked: Vec<bool> = old
        .iter()
        .map(|r| r.is_none_or(|r| r.status != StageStatus::Skipped))
        .collect();
    let unfinished: Vec<bool> = old
        .iter()
        .zip(&picked)
        .map(|(r, p)| *p && r.is_none_or(|r| r.status != StageStatus::Succeeded))
        .collect();
    let todo: Vec<bool> = downstream(plan, &unfinished)
        .into_iter()
        .zip(&picked)
        .map(|(d, p)| d && *p)
        .collect();
    let mut problems = Vec::new();
    let mut reused = Vec::new();
    for (i, stage) in plan.stages.iter().enumerate() {
        let keep = picked[i] && !todo[i];
        let Some(record) = old[i].filter(|_| keep) else {
            reused.push(None);
            continue;
        };
        if record.fingerprint != stage.fingerprint {
            problems.push(format!(
                "stage '{}' succeeded in run {}, but its definition has changed since (in the file, its ops-file or the variables it uses)",
                stage.name, previous.run_id
            ));
        }
        for out in &record.outputs {
            let Some(sha) = &out.sha256 else { continue };
            if out.location.contains("://") {
                continue;
            }
            let path = Path::new(&out.location);
            if !path.exists() {
                problems.push(format!(
                    "stage '{}' wrote {}, which is gone",
                    stage.name, out.location
                ));
            } else if manifest::describe(path, None).sha256.as_ref() != Some(sha) {
                problems.push(format!(
                    "stage '{}' wrote {}, which has changed since",
                    stage.name, out.location
                ));
            }
        }
        let mut r = record.clone();
        r.reused = true;
        reused.push(Some(r));
    }
    if !problems.is_empty() {
        return Err(Error::usage(format!(
            "--resume: run {} of '{}' cannot be continued safely:\n  {}\nRun the pipeline again without --resume (a new run), or restore what changed.",
            previous.run_id,
            plan.name,
            problems.join("\n  ")
        )));
    }
    Ok(Resumption {
        todo,
        reused,
        picked,
    })
}
