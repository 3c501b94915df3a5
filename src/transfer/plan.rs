//! Which files go where: list the sources, apply --include/--exclude, and
//! map each file to a destination path that can never leave DEST.

use std::collections::HashMap;

use glob::{MatchOptions, Pattern};

use super::local_tree::{self, Found};
use super::TransferRequest;
use crate::error::{Error, Result};
use crate::store::{Backend, Place, Stat};

/// One file to copy.
#[derive(Debug, Clone)]
pub struct Item {
    /// Index into the request's sources.
    pub source: usize,
    pub src_path: String,
    pub src_stat: Stat,
    /// The `/`-separated name under DEST (checked by [`safe_relative`]).
    pub rel: String,
    pub dst_path: String,
    /// What the destination holds at `dst_path` now, when known.
    pub dst_stat: Option<Stat>,
}

pub fn patterns(globs: &[String], flag: &str) -> Result<Vec<Pattern>> {
    globs
        .iter()
        .map(|g| Pattern::new(g).map_err(|e| Error::usage(format!("{flag} {g}: bad glob ({e})"))))
        .collect()
}

const SEP: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// A glob without `/` matches the base name; with `/`, the whole relative name.
fn matches(p: &Pattern, rel: &str) -> bool {
    if p.as_str().contains('/') {
        p.matches_with(rel, SEP)
    } else {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        p.matches_with(base, SEP)
    }
}

/// Checks a source file's name relative to its root before it is joined to
/// DEST: no absolute names, no `..`, nothing that could escape.
pub fn safe_relative(rel: &str, shown: &str) -> Result<String> {
    let bad = |why: &str| {
        Err(Error::data(format!(
            "{shown}: refusing the source name '{rel}': {why}; it would write outside the destination"
        )))
    };
    if rel.is_empty() {
        return bad("empty name");
    }
    if rel.starts_with('/') || rel.starts_with('\\') || rel.as_bytes().get(1) == Some(&b':') {
        return bad("absolute path");
    }
    if rel.contains('\0') {
        return bad("NUL byte in the name");
    }
    let mut parts = Vec::new();
    for c in rel.split(['/', '\\']) {
        match c {
            "" | "." => continue,
            ".." => return bad("'..' in the path"),
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return bad("empty name");
    }
    Ok(parts.join("/"))
}

fn base_name(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

/// `path` relative to the folder `root` (both full store paths).
fn relative<'a>(root: &str, path: &'a str) -> &'a str {
    if root.is_empty() {
        return path;
    }
    let root = root.trim_end_matches('/');
    path.strip_prefix(root)
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(path)
}

/// The files under a folder: (full path, stat). A local folder is listed
/// by [`local_tree`]: a symbolic link it refuses is an error when `keep`
/// (the --include/--exclude filters) would have copied it.
async fn list_folder(
    place: &Place,
    dir: &str,
    keep: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<(String, Stat)>> {
    if !matches!(place.backend, Backend::Local) {
        let listed = place.list(dir).await?;
        return Ok(listed.into_iter().map(|e| (e.path, e.stat)).collect());
    }
    let root = std::path::PathBuf::from(dir);
    let found = tokio::task::spawn_blocking(move || local_tree::list(&root))
        .await
        .map_err(|e| Error::io(e.to_string()))?
        .map_err(|e| Error::io(crate::error::io_message(&e)))?;
    let mut out = Vec::with_capacity(found.len());
    for f in found {
        match f {
            Found::File { path, size } => out.push((
                path,
                Stat {
                    size,
                    digests: Vec::new(),
                },
            )),
            Found::Refused { path, why } => {
                if keep(&safe_relative(relative(dir, &path), &path)?) {
                    return Err(Error::data(format!(
                        "{}: refusing {why}; copy what it points to instead, or leave it out with --exclude",
                        place.show(&path)
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// The files of one source: (full path, stat, relative name). `keep` tells
/// which relative names the filters keep (see [`list_folder`]).
pub async fn expand(
    place: &Place,
    recursive: bool,
    keep: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<(String, Stat, String)>> {
    let mut out = Vec::new();
    if place.is_glob() {
        if let Backend::Local = place.backend {
            let paths = glob::glob(&place.path)
                .map_err(|e| Error::usage(format!("{}: bad glob ({e})", place.shown)))?;
            for p in paths {
                let p = p.map_err(|e| Error::io(format!("{}: {e}", place.shown)))?;
                let ps = p.to_string_lossy().into_owned();
                if p.is_dir() {
                    if recursive {
                        let name = base_name(&ps).to_string();
                        let keep_here = |r: &str| keep(&format!("{name}/{r}"));
                        for (path, stat) in list_folder(place, &ps, &keep_here).await? {
                            let rel = format!("{name}/{}", relative(&ps, &path));
                            out.push((path, stat, rel));
                        }
                    }
                } else if let Some(st) = place.stat(&ps).await? {
                    let rel = base_name(&ps).to_string();
                    out.push((ps, st, rel));
                }
            }
        } else {
            // Remote glob: list from the last folder before the first wildcard.
            let first = place.path.find(['*', '?', '[']).unwrap_or(0);
            let root = place.path[..first]
                .rsplit_once('/')
                .map(|(r, _)| r)
                .unwrap_or("")
                .to_string();
            let pat = Pattern::new(&place.path)
                .map_err(|e| Error::usage(format!("{}: bad glob ({e})", place.shown)))?;
            for e in place.list(&root).await? {
                if pat.matches_with(&e.path, SEP) {
                    let rel = relative(&root, &e.path).to_string();
                    out.push((e.path, e.stat, rel));
                } else if recursive {
                    // A matching folder brings everything under it.
                    let mut prefix = e.path.as_str();
                    while let Some((p, _)) = prefix.rsplit_once('/') {
                        prefix = p;
                        if prefix.len() <= root.len() {
                            break;
                        }
                        if pat.matches_with(prefix, SEP) {
                            let rel = relative(&root, &e.path).to_string();
                            out.push((e.path.clone(), e.stat.clone(), rel));
                            break;
                        }
                    }
                }
            }
        }
        if out.is_empty() {
            return Err(Error::io(format!("{}: no files match", place.shown)));
        }
        return Ok(out);
    }
    if !place.dir_hint {
        if let Some(st) = place.stat(&place.path).await? {
            let rel = base_name(&place.path).to_string();
            out.push((place.path.clone(), st, rel));
            return Ok(out);
        }
    }
    if place.is_dir(&place.path).await? {
        if !recursive {
            return Err(Error::usage(format!(
                "{}: is a folder; pass --recursive to copy it with everything under it",
                place.shown
            )));
        }
        for (path, stat) in list_folder(place, &place.path, keep).await? {
            let rel = relative(&place.path, &path).to_string();
            out.push((path, stat, rel));
        }
        return Ok(out);
    }
    Err(Error::io(format!(
        "{}: no such file or folder",
        place.shown
    )))
}

pub async fn plan(
    sources: &[Place],
    dest: &Place,
    req: &TransferRequest,
    include: &[Pattern],
    exclude: &[Pattern],
) -> Result<Vec<Item>> {
    let mut files = Vec::new();
    let keep = |rel: &str| {
        (include.is_empty() || include.iter().any(|p| matches(p, rel)))
            && !exclude.iter().any(|p| matches(p, rel))
    };
    for (i, place) in sources.iter().enumerate() {
        for (path, stat, rel) in expand(place, req.recursive, &keep).await? {
            let rel = safe_relative(&rel, &place.show(&path))?;
            if !keep(&rel) {
                continue;
            }
            files.push((i, path, stat, rel));
        }
    }
    let into_folder = dest.dir_hint
        || req.recursive
        || sources.len() > 1
        || sources.iter().any(Place::is_glob)
        || files.len() > 1
        || match dest.backend {
            Backend::Object(_) => false,
            _ => dest.is_dir(&dest.path).await?,
        };
    // What is at the destination already: one listing for a folder.
    let existing: HashMap<String, Stat> = if into_folder {
        match dest.is_dir(&dest.path).await {
            Ok(true) => dest
                .list(&dest.path)
                .await?
                .into_iter()
                .map(|e| (e.path, e.stat))
                .collect(),
            Ok(false) => HashMap::new(),
            Err(f) => return Err(f.into()),
        }
    } else {
        HashMap::new()
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut items = Vec::with_capacity(files.len());
    for (source, src_path, src_stat, rel) in files {
        let dst_path = if into_folder {
            dest.join(&dest.path, &rel)
        } else {
            dest.path.clone()
        };
        let shown_src = sources[source].show(&src_path);
        if let Some(other) = seen.insert(dst_path.clone(), shown_src.clone()) {
            return Err(Error::usage(format!(
                "{other} and {shown_src} would both be written to {}",
                dest.show(&dst_path)
            )));
        }
        let dst_stat = if into_folder {
            existing.get(&dst_path).cloned()
        } else {
            dest.stat(&dst_path).await?
        };
        items.push(Item {
            source,
            src_path,
            src_stat,
            rel,
            dst_path,
            dst_stat,
        });
    }
    if items.is_empty() {
        return Err(Error::io(
            "no files to transfer (the sources are empty or --include/--exclude left nothing)",
        ));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a/..",
            "..",
            "C:\\x",
            "\\\\srv\\x",
        ] {
            assert!(safe_relative(bad, "src").is_err(), "{bad}");
        }
        assert_eq!(safe_relative("a/./b//c.csv", "src").unwrap(), "a/b/c.csv");
        assert_eq!(safe_relative("..a/b..", "src").unwrap(), "..a/b..");
    }

    #[test]
    fn globs_without_slash_match_base_names() {
        let p = Pattern::new("*.csv").unwrap();
        assert!(matches(&p, "2024/a.csv"));
        let q = Pattern::new("2024/*.csv").unwrap();
        assert!(matches(&q, "2024/a.csv"));
        assert!(!matches(&q, "2024/x/a.csv"));
    }

    #[test]
    fn relative_names() {
        assert_eq!(relative("landing", "landing/a/b.csv"), "a/b.csv");
        assert_eq!(relative("", "a/b.csv"), "a/b.csv");
        assert_eq!(relative("/srv/", "/srv/x"), "x");
    }
}
