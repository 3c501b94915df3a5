//! The stage graph. A stage runs after the stages it `needs`, and after
//! every earlier stage (in file order) that it conflicts with: one writes
//! what the other reads, or both write the same place (a dataset, a file, a
//! folder, a database, a topic). So a file without `needs` means what it
//! always meant, run stage by stage, while stages that share nothing may
//! run at the same time. Checked here: unknown and cyclic needs, and
//! datasets read before any stage writes them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

use super::expand::Scope;
use super::plan::{Action, Need, Plan, Stage};
use super::problems::Problems;

/// Where a stage reads and writes, each place with the words that explain
/// an edge (a dataset's name, or the location as written).
#[derive(Debug, Default)]
pub(super) struct Io {
    reads: Vec<(String, String)>,
    writes: Vec<(String, String)>,
    /// Every text of the stage's table, variables expanded: a dataset's
    /// file named anywhere in it (`{silver.city}` in a join) is read.
    texts: Vec<String>,
}

/// What the file says about a stage besides its action.
pub(super) struct Declared<'a> {
    pub stage: &'a Stage,
    pub needs: Vec<String>,
    /// Line of the `needs` key, or of the stage.
    pub needs_line: usize,
    pub io: Io,
}

/// The keys that say when and how often a stage runs, not what it does:
/// changing them does not change its outputs.
const ORCHESTRATION_KEYS: &[&str] = &["description", "needs", "retries", "retry-delay", "timeout"];

/// Reads, writes and the fingerprint of a stage from its table.
pub(super) fn io_of(stage: &Stage, raw: &toml::Table, scope: &Scope, base: &Path) -> (Io, String) {
    let mut table = raw.clone();
    table.retain(|k, _| !ORCHESTRATION_KEYS.contains(&k));
    let expanded = scope
        .expand_value(&toml::Value::Table(table.clone()))
        .unwrap_or(toml::Value::Table(table));
    let mut io = Io::default();
    leaves(&expanded, &mut io.texts);
    let mut digest_text = serde_json::to_string(&expanded).unwrap_or_default();
    if let Some(file) = raw.get("ops-file").and_then(|v| v.as_str()) {
        let path = scope.expand(file).map(|f| base.join(f));
        let text = path.ok().and_then(|p| std::fs::read_to_string(p).ok());
        if let Some(ops) = text.and_then(|t| t.parse::<toml::Table>().ok()) {
            let ops = toml::Value::Table(ops);
            let ops = scope.expand_value(&ops).unwrap_or(ops);
            leaves(&ops, &mut io.texts);
            digest_text.push_str(&serde_json::to_string(&ops).unwrap_or_default());
        }
    }
    let texts_of = |key: &str| {
        let mut out = Vec::new();
        if let Some(v) = expanded.get(key) {
            leaves(v, &mut out);
        }
        out
    };
    let read = |io: &mut Io, text: &str, label: &str| {
        io.reads.push((place(text), label.to_string()));
    };
    if let Some(d) = stage.action.input() {
        read(&mut io, &d.path.to_string_lossy(), &d.name);
    }
    if let Some(d) = stage.action.output() {
        io.writes
            .push((place(&d.path.to_string_lossy()), d.name.clone()));
    }
    match &stage.action {
        Action::Ingest { .. } => {
            for text in texts_of("ingest") {
                read(&mut io, &text, &crate::location::redact(&text));
            }
        }
        Action::Ops {
            rejects: Some(r), ..
        } => io
            .writes
            .push((place(&r.path.to_string_lossy()), r.name.clone())),
        Action::Ops { .. } => {}
        Action::Persist { .. } => {
            if let Some(toml::Value::Array(targets)) = expanded.get("persist") {
                for t in targets {
                    if let Some(target) = t.get("target").and_then(|v| v.as_str()) {
                        io.writes
                            .push((place(target), crate::location::redact(target)));
                    }
                }
            } else if let Some(target) = expanded
                .get("persist")
                .and_then(|t| t.get("target"))
                .and_then(|v| v.as_str())
            {
                io.writes
                    .push((place(target), crate::location::redact(target)));
            }
        }
        Action::Extract { spec, .. } => {
            let p = spec.path.to_string_lossy();
            io.writes.push((place(&p), p.into_owned()));
        }
        Action::Report { spec, .. } => {
            let p = spec.path.to_string_lossy();
            io.writes.push((place(&p), p.into_owned()));
        }
        Action::Transfer(t) => {
            for from in &t.from {
                read(&mut io, from, &crate::location::redact(from));
            }
            for to in &t.to {
                io.writes.push((place(to), crate::location::redact(to)));
            }
        }
    }
    let digest = <sha2::Sha256 as sha2::Digest>::digest(digest_text.as_bytes());
    (io, hex::encode(digest))
}

fn leaves(v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(items) => items.iter().for_each(|i| leaves(i, out)),
        toml::Value::Table(t) => t.values().for_each(|i| leaves(i, out)),
        _ => {}
    }
}

/// A location as a comparable key: local paths absolute and normalized
/// (a glob stands for its folder), URLs without their query, no trailing
/// slash.
fn place(text: &str) -> String {
    let local = |p: &str| {
        let cut = p
            .find(['*', '?', '[', '{'])
            .map(|at| match p[..at].rfind('/') {
                Some(slash) => &p[..slash],
                None => "",
            });
        let p = Path::new(cut.unwrap_or(p));
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        let mut out = PathBuf::new();
        for c in abs.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out.to_string_lossy().trim_end_matches('/').to_string()
    };
    if let Some(rest) = text.strip_prefix("file://") {
        return local(rest);
    }
    match text.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.split(['?', '#']).next().unwrap_or("");
            format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                rest.trim_end_matches('/')
            )
        }
        None => local(text),
    }
}

/// One place inside the other, or the same.
fn overlaps(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner.len() > outer.len()
            && inner.starts_with(outer)
            && (outer.ends_with('/') || inner.as_bytes()[outer.len()] == b'/')
    };
    a == b || within(a, b) || within(b, a)
}

/// Fills every stage's `needs` and reports the graph's problems. `names`
/// are all stage names of the file (also those with problems of their own).
pub(super) fn link(
    declared: &[Declared],
    names: &[String],
    datasets: &BTreeMap<String, (PathBuf, String, usize)>,
    problems: &mut Problems,
) -> Vec<Vec<Need>> {
    let index: BTreeMap<&str, usize> = declared
        .iter()
        .enumerate()
        .map(|(i, d)| (d.stage.name.as_str(), i))
        .collect();
    let mut needs: Vec<Vec<Need>> = vec![Vec::new(); declared.len()];
    let add =
        |needs: &mut Vec<Vec<Need>>, who: usize, on: usize, declared: bool, why: Option<String>| {
            let list = &mut needs[who];
            let at = match list.iter().position(|n| n.stage == on) {
                Some(at) => at,
                None => {
                    list.push(Need {
                        stage: on,
                        declared: false,
                        reasons: Vec::new(),
                    });
                    list.len() - 1
                }
            };
            let n = &mut list[at];
            n.declared |= declared;
            if let Some(why) = why.filter(|w| !n.reasons.contains(w)) {
                n.reasons.push(why);
            }
        };
    for (i, d) in declared.iter().enumerate() {
        for name in &d.needs {
            let label = format!("stage '{}': ", d.stage.name);
            if *name == d.stage.name {
                problems.add(d.needs_line, format!("{label}a stage cannot need itself"));
            } else if let Some(&j) = index.get(name.as_str()) {
                add(&mut needs, i, j, true, None);
            } else if !names.contains(name) {
                problems.add(
                    d.needs_line,
                    format!(
                        "{label}needs '{name}', which is not a stage of this file (stages: {})",
                        names.join(", ")
                    ),
                );
            }
        }
        // A dataset's file named in the stage's texts ({silver.city}).
        for (name, (path, writer, line)) in datasets {
            let shown = path.to_string_lossy();
            if !d.io.texts.iter().any(|t| t.contains(shown.as_ref())) {
                continue;
            }
            let Some(&w) = index.get(writer.as_str()) else {
                continue;
            };
            if w > i && !d.needs.contains(writer) {
                problems.add(
                    d.stage.line,
                    format!(
                        "stage '{}': dataset '{name}' is read here before any stage writes it: stage '{writer}' (line {line}) writes it later in the file (move this stage after it, or add needs = [\"{writer}\"])",
                        d.stage.name
                    ),
                );
            } else if w != i {
                add(&mut needs, i, w, false, Some(format!("reads {name}")));
            }
        }
    }
    // Conflicts between two stages: the later one in the file waits,
    // unless the earlier one needs it (then the need decides).
    for j in 0..declared.len() {
        for i in 0..j {
            let Some(why) = conflict(&declared[i].io, &declared[j].io) else {
                continue;
            };
            let i_needs_j = declared[i].needs.contains(&declared[j].stage.name);
            if i_needs_j {
                add(&mut needs, i, j, false, Some(why.1));
            } else {
                add(&mut needs, j, i, false, Some(why.0));
            }
        }
    }
    for cycle in cycles(&needs) {
        let first = cycle[0];
        let mut path: Vec<&str> = cycle
            .iter()
            .map(|&s| declared[s].stage.name.as_str())
            .collect();
        path.push(&declared[first].stage.name);
        problems.add(
            declared[first].needs_line,
            format!(
                "stage '{}': the stages form a cycle, so none of them can start: {} (each needs the next)",
                declared[first].stage.name,
                path.join(" → ")
            ),
        );
    }
    needs
}

/// Why the later of two stages (reasons as seen from the later, then from
/// the earlier) waits for the other, if it must.
fn conflict(early: &Io, late: &Io) -> Option<(String, String)> {
    for (w, label) in &early.writes {
        if late.reads.iter().any(|(r, _)| overlaps(r, w)) {
            return Some((
                format!("reads {label}"),
                format!("writes {label}, which it reads"),
            ));
        }
    }
    for (w, label) in &late.writes {
        if early.reads.iter().any(|(r, _)| overlaps(r, w)) {
            return Some((
                format!("writes {label}, which it reads"),
                format!("reads {label}"),
            ));
        }
        if early.writes.iter().any(|(e, _)| overlaps(e, w)) {
            return Some((format!("writes {label} too"), format!("writes {label} too")));
        }
    }
    None
}

/// Every cycle of the graph (strongly connected parts of more than one
/// stage), each from its first stage in the file.
fn cycles(needs: &[Vec<Need>]) -> Vec<Vec<usize>> {
    let n = needs.len();
    let reach = |from: usize| {
        let mut seen = vec![false; n];
        let mut stack: Vec<usize> = needs[from].iter().map(|e| e.stage).collect();
        while let Some(s) = stack.pop() {
            if !std::mem::replace(&mut seen[s], true) {
                stack.extend(needs[s].iter().map(|e| e.stage));
            }
        }
        seen
    };
    let reachable: Vec<Vec<bool>> = (0..n).map(reach).collect();
    let mut done = vec![false; n];
    let mut out = Vec::new();
    for s in 0..n {
        if done[s] || !reachable[s][s] {
            continue;
        }
        let members: Vec<usize> = (0..n)
            .filter(|&t| reachable[s][t] && reachable[t][s])
            .collect();
        // The shortest way round, by breadth-first search from s back to s.
        let mut parent: Vec<Option<usize>> = vec![None; n];
        let mut queue = std::collections::VecDeque::from([s]);
        'search: while let Some(at) = queue.pop_front() {
            for t in needs[at].iter().map(|e| e.stage) {
                if !members.contains(&t) || parent[t].is_some() {
                    continue;
                }
                parent[t] = Some(at);
                if t == s {
                    break 'search;
                }
                queue.push_back(t);
            }
        }
        let mut cycle = Vec::new();
        let mut at = parent[s];
        while let Some(p) = at.filter(|p| *p != s) {
            cycle.push(p);
            at = parent[p];
        }
        cycle.push(s);
        cycle.reverse();
        for m in members {
            done[m] = true;
        }
        out.push(cycle);
    }
    out
}

/// The stages that depend on any of `from`, directly or not (`from`
/// included).
pub fn downstream(plan: &Plan, from: &[bool]) -> Vec<bool> {
    let mut out = from.to_vec();
    // Needs may point forward (declared), so repeat until nothing changes.
    loop {
        let mut changed = false;
        for (i, s) in plan.stages.iter().enumerate() {
            if !out[i] && s.needs.iter().any(|n| out[n.stage]) {
                out[i] = true;
                changed = true;
            }
        }
        if !changed {
            return out;
        }
    }
}

/// The graph in Graphviz DOT: one node per stage (with its kind), one edge
/// per need, labelled with why.
pub fn dot(plan: &Plan) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", esc(&plan.name));
    let _ = writeln!(out, "  rankdir=LR;\n  node [shape=box];");
    for s in &plan.stages {
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\"];",
            esc(&s.name),
            esc(&s.name),
            s.action.kind()
        );
    }
    for s in &plan.stages {
        for n in &s.needs {
            let mut lines: Vec<String> = n
                .reasons
                .iter()
                .map(|r| esc(&crate::location::redact(r)))
                .collect();
            if n.declared {
                lines.insert(0, "needs".into());
            }
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [label=\"{}\"{}];",
                esc(&plan.stages[n.stage].name),
                esc(&s.name),
                lines.join("\\n"),
                if n.declared { ", style=bold" } else { "" }
            );
        }
    }
    out.push_str("}\n");
    out
}

/// The graph as an indented tree for a terminal: each stage under the
/// stages it needs; a stage already shown is named again with "(above)".
pub fn tree(plan: &Plan) -> String {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); plan.stages.len()];
    for (i, s) in plan.stages.iter().enumerate() {
        for n in &s.needs {
            children[n.stage].push(i);
        }
    }
    let mut out = String::new();
    let mut shown = vec![false; plan.stages.len()];
    fn walk(
        plan: &Plan,
        children: &[Vec<usize>],
        shown: &mut [bool],
        at: usize,
        depth: usize,
        out: &mut String,
    ) {
        let s = &plan.stages[at];
        let pad = "  ".repeat(depth);
        if shown[at] {
            let _ = writeln!(out, "{pad}{} (above)", s.name);
            return;
        }
        shown[at] = true;
        let others: Vec<&str> = s
            .needs
            .iter()
            .map(|n| plan.stages[n.stage].name.as_str())
            .collect();
        let after = if others.len() > 1 {
            format!("  [after {}]", others.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(out, "{pad}{} ({}){after}", s.name, s.action.kind());
        for &c in &children[at] {
            walk(plan, children, shown, c, depth + 1, out);
        }
    }
    for (i, s) in plan.stages.iter().enumerate() {
        if s.needs.is_empty() {
            walk(plan, &children, &mut shown, i, 0, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_compare_folders_globs_and_urls() {
        assert!(overlaps(&place("out/d/"), &place("./out/d/x.json")));
        assert!(overlaps(&place("landing/*.csv"), &place("landing/a.csv")));
        assert!(!overlaps(&place("out/d"), &place("out/dx")));
        assert_eq!(
            place("topic://root/broker/q?group=g"),
            place("topic://root/broker/q?key=id")
        );
        assert!(overlaps(&place("file:///tmp/a/b"), &place("/tmp/a")));
    }
}
