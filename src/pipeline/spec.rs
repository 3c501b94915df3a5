//! The pipeline file as TOML, with the line of every value, so that
//! validation can point at each problem.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// Where things are in the file: lines of each stage's keys, and of each
/// op and persist target inside a stage.
#[derive(Debug, Default)]
pub struct Lines {
    text_lines: Vec<usize>,
    pipeline: BTreeMap<String, usize>,
    vars: BTreeMap<String, usize>,
    stages: Vec<StageLines>,
}

#[derive(Debug, Default, Clone)]
pub struct StageLines {
    pub start: usize,
    pub keys: BTreeMap<String, usize>,
    pub ops: Vec<usize>,
    pub persist: Vec<usize>,
}

#[derive(Deserialize)]
struct KeySpans {
    #[serde(default)]
    pipeline: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    vars: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    stage: Vec<BTreeMap<String, Spanned<toml::Value>>>,
}

#[derive(Deserialize)]
struct ListSpans {
    #[serde(default)]
    stage: Vec<StageListSpans>,
}

#[derive(Deserialize)]
struct StageListSpans {
    #[serde(default)]
    ops: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    persist: Vec<Spanned<toml::Value>>,
}

impl Lines {
    /// Reads the positions; a file whose shape is wrong gives fewer lines,
    /// never an error (validation reports the shape).
    pub fn of(text: &str) -> Lines {
        let mut lines = Lines {
            text_lines: text
                .char_indices()
                .filter(|(_, c)| *c == '\n')
                .map(|(i, _)| i)
                .collect(),
            ..Lines::default()
        };
        if let Ok(k) = toml::from_str::<KeySpans>(text) {
            lines.pipeline = k
                .pipeline
                .iter()
                .map(|(key, v)| (key.clone(), lines.line_at(v.span().start)))
                .collect();
            lines.vars = k
                .vars
                .iter()
                .map(|(key, v)| (key.clone(), lines.line_at(v.span().start)))
                .collect();
            lines.stages = k
                .stage
                .iter()
                .map(|keys| {
                    let keys: BTreeMap<String, usize> = keys
                        .iter()
                        .map(|(key, v)| (key.clone(), lines.line_at(v.span().start)))
                        .collect();
                    StageLines {
                        start: keys.values().copied().min().unwrap_or(0),
                        keys,
                        ..StageLines::default()
                    }
                })
                .collect();
        }
        if let Ok(spans) = toml::from_str::<ListSpans>(text) {
            for (stage, spans) in lines.stages.iter_mut().zip(spans.stage) {
                stage.ops = spans.ops.iter().map(|s| s.span().start).collect();
                stage.persist = spans.persist.iter().map(|s| s.span().start).collect();
            }
            let to_line = |offsets: &mut Vec<usize>, nl: &[usize]| {
                for o in offsets.iter_mut() {
                    *o = nl.partition_point(|&n| n < *o) + 1;
                }
            };
            for stage in lines.stages.iter_mut() {
                to_line(&mut stage.ops, &lines.text_lines);
                to_line(&mut stage.persist, &lines.text_lines);
            }
        }
        lines
    }

    /// 1-based line of a byte offset.
    fn line_at(&self, offset: usize) -> usize {
        self.text_lines.partition_point(|&nl| nl < offset) + 1
    }

    pub fn pipeline_key(&self, key: &str) -> Option<usize> {
        self.pipeline.get(key).copied()
    }

    pub fn var(&self, key: &str) -> Option<usize> {
        self.vars.get(key).copied()
    }

    pub fn stage(&self, index: usize) -> StageLines {
        self.stages.get(index).cloned().unwrap_or_default()
    }
}

/// The `[[stage]]` keys a pipeline file may use.
pub const STAGE_KEYS: &[&str] = &[
    "name",
    "description",
    "ingest",
    "read",
    "add-source-column",
    "input",
    "ops",
    "ops-file",
    "output",
    "rejects",
    "max-rejects",
    "max-reject-pct",
    "persist",
    "extract",
    "transfer",
    "report",
    "needs",
    "retries",
    "retry-delay",
    "timeout",
];

pub const PIPELINE_KEYS: &[&str] = &["name", "description", "root", "manifest", "lock"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_stages_ops_and_keys() {
        let text = "[pipeline]\nname = \"x\"\n\n[[stage]]\nname = \"a\"\nops = [\n  { upper = [\"c\"] },\n  { lower = [\"d\"] },\n]\n\n[[stage]]\nname = \"b\"\n";
        let l = Lines::of(text);
        assert_eq!(l.pipeline_key("name"), Some(2));
        assert_eq!(l.stage(0).start, 5);
        assert_eq!(l.stage(0).ops, vec![7, 8]);
        assert_eq!(l.stage(1).start, 12);
    }
}
