//! Keeps the house as built: data flows one way through the engine's
//! modules (a lower module never imports a higher one), and no files import
//! each other in a circle. Reads the sources as text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The engine's modules from the bottom up; a module may import only
/// modules of a lower tier (and those of its own tier in the first one,
/// the foundations every layer uses). The binary (`cli`) is on top.
const TIERS: &[&[&str]] = &[
    &[
        "error", "names", "vars", "progress", "runtime", "cleanup", "location", "dtype",
    ],
    &["store"],
    &["format"],
    &["frame"],
    &["model"],
    &["transfer"],
    &["db"],
    &["source"],
    &["ops"],
    &["sink"],
    &["stream"],
    &["step"],
    &["spark"],
    &["inspect", "report"],
    &["pipeline"],
    &["cli"],
];

fn tier(module: &str) -> Option<usize> {
    TIERS.iter().position(|t| t.contains(&module))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `src/format/csv.rs` → `[format, csv]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    match last.as_str() {
        "mod.rs" | "lib.rs" | "main.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_string()),
    }
    parts
}

/// Drops comments and string literals, so that prose and messages do not
/// count as imports.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'r' && b.get(i + 1) == Some(&b'#') && b.get(i + 2) == Some(&b'"') {
            let end = text[i + 3..].find("\"#").map(|e| i + 3 + e + 2);
            i = end.unwrap_or(b.len());
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand_braces(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.trim().to_string()];
    };
    let prefix = &path[..open];
    let mut depth = 0;
    let mut close = path.len() - 1;
    for (i, c) in path.char_indices().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = i;
                    break;
                }
            }
            _ => {}
        }
    }
    let inner = &path[open + 1..close];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .flat_map(|item| expand_braces(&format!("{prefix}{}", item.trim())))
        .collect()
}

/// Every path a file names that starts with `crate::`, `super::` or
/// (in the binary) `etl::`, made absolute (without the leading `crate`).
fn referenced_paths(file: &Path) -> Vec<Vec<String>> {
    let text = code_only(&std::fs::read_to_string(file).unwrap());
    let here = module_path(file);
    let mut raw: Vec<String> = Vec::new();
    // `use` declarations, braces expanded.
    for (at, _) in text.match_indices("use ") {
        let before = text[..at].chars().last();
        if before.is_some_and(|c| !c.is_whitespace() && c != '{' && c != ';') {
            continue;
        }
        if let Some(end) = text[at..].find(';') {
            let flat = text[at + 4..at + end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            raw.extend(expand_braces(&flat));
        }
    }
    // Paths written in code.
    for start in ["crate::", "super::", "etl::"] {
        for (at, _) in text.match_indices(start) {
            let before = text[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            raw.push(path);
        }
    }
    let mut out = Vec::new();
    for p in raw {
        let segs: Vec<String> = p
            .split("::")
            .filter(|s| !s.is_empty())
            .map(|s| s.split(" as ").next().unwrap_or(s).trim().to_string())
            .collect();
        let Some(first) = segs.first() else { continue };
        let abs = match first.as_str() {
            "crate" => segs[1..].to_vec(),
            "etl" if here.first().is_some_and(|m| m == "cli") || here.is_empty() => {
                segs[1..].to_vec()
            }
            "super" => {
                let mut base = here.clone();
                let mut rest = &segs[..];
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                base
            }
            _ => continue,
        };
        if !abs.is_empty() {
            out.push(abs);
        }
    }
    out
}

/// The file that defines the item a path names: the deepest module file
/// on the path.
fn file_of(path: &[String]) -> Option<PathBuf> {
    let mut dir = src();
    let mut found = None;
    for seg in path {
        let file = dir.join(format!("{seg}.rs"));
        let folder = dir.join(seg);
        if folder.join("mod.rs").exists() {
            found = Some(folder.join("mod.rs"));
            dir = folder;
        } else if file.exists() {
            return Some(file);
        } else {
            break;
        }
    }
    found
}

fn all_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files
}

#[test]
fn no_module_imports_a_higher_one() {
    let mut wrong = Vec::new();
    for file in all_files() {
        let here = module_path(&file);
        let Some(top) = here.first() else { continue };
        let Some(mine) = tier(top) else {
            wrong.push(format!(
                "{}: module '{top}' has no tier in TIERS",
                file.display()
            ));
            continue;
        };
        for path in referenced_paths(&file) {
            let target = &path[0];
            if target == top {
                continue;
            }
            match tier(target) {
                Some(t) if t < mine || (t == 0 && mine == 0) => {}
                Some(_) => wrong.push(format!(
                    "{}: {top} imports {} (a higher module)",
                    file.strip_prefix(src()).unwrap().display(),
                    path.join("::")
                )),
                None => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the flow:\n{}",
        wrong.join("\n")
    );
}

/// Files importing each other in a circle, found with Tarjan's algorithm.
/// A folder's `mod.rs` and its own children are one unit (the facade and
/// its parts), so their mutual references do not count.
#[test]
fn no_files_import_each_other_in_a_circle() {
    let files = all_files();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in &files {
        let entry = edges.entry(file.clone()).or_default();
        for path in referenced_paths(file) {
            let Some(target) = file_of(&path) else {
                continue;
            };
            let facade_of = |a: &Path, b: &Path| {
                a.file_name().is_some_and(|n| n == "mod.rs") && b.parent() == a.parent()
            };
            if target == *file || facade_of(&target, file) || facade_of(file, &target) {
                continue;
            }
            entry.insert(target);
        }
    }
    let cycles = strongly_connected(&edges);
    let shown: Vec<String> = cycles
        .iter()
        .map(|c| {
            c.iter()
                .map(|p| p.strip_prefix(src()).unwrap().display().to_string())
                .collect::<Vec<_>>()
                .join(" ↔ ")
        })
        .collect();
    assert!(
        shown.is_empty(),
        "files importing each other:\n{}",
        shown.join("\n")
    );
}

fn strongly_connected(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct State<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        out: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_checker_sees_imports() {
    // The checks above pass vacuously if no import is found: make sure a
    // known one is.
    let ingest = src().join("cli/ingest.rs");
    let paths = referenced_paths(&ingest);
    assert!(
        paths.iter().any(|p| p.first().is_some_and(|m| m == "step")),
        "{paths:?}"
    );
    assert_eq!(
        expand_braces("crate::{a::{b, c as x}, d}"),
        ["crate::a::b", "crate::a::c as x", "crate::d"]
    );
    assert_eq!(
        file_of(&["format".into(), "csv".into(), "scan".into()]),
        Some(src().join("format/csv.rs"))
    );
}
