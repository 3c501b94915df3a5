//! A local source folder as `transfer` lists it. Symbolic links are followed
//! as `aws s3 sync` does, but only within the source folder: a link to a
//! file or a folder inside it is copied as what it points to (under the
//! link's name); a link out of the folder, to nothing, or to a folder that
//! contains it (a loop) is refused, naming it. Nothing is skipped silently.

use std::fs;
use std::path::{Path, PathBuf};

/// One name found under the folder.
pub enum Found {
    /// A file to copy (possibly through a link): its path and size.
    File { path: String, size: u64 },
    /// A link that is not followed, and why.
    Refused { path: String, why: String },
}

/// Everything under `root`, links resolved as above.
pub fn list(root: &Path) -> std::io::Result<Vec<Found>> {
    let real = fs::canonicalize(root)?;
    let mut out = Vec::new();
    let mut stack = vec![real.clone()];
    walk(root, &real, &mut stack, &mut out)?;
    Ok(out)
}

fn context(e: std::io::Error, p: &Path) -> std::io::Error {
    std::io::Error::new(
        e.kind(),
        format!("{}: {}", p.display(), crate::error::io_message(&e)),
    )
}

/// Lists `dir`; `stack` holds the real paths of the folders being listed
/// (to tell a loop), `root` the real source folder.
fn walk(
    dir: &Path,
    root: &Path,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<Found>,
) -> std::io::Result<()> {
    let mut entries = fs::read_dir(dir)
        .map_err(|e| context(e, dir))?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| context(e, dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let p = entry.path();
        let shown = p.to_string_lossy().into_owned();
        let ft = entry.file_type().map_err(|e| context(e, &p))?;
        if ft.is_symlink() {
            let to = fs::read_link(&p)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            let Ok(real) = fs::canonicalize(&p) else {
                out.push(Found::Refused {
                    path: shown,
                    why: format!("a symbolic link to {to}, which does not exist"),
                });
                continue;
            };
            if !real.starts_with(root) {
                out.push(Found::Refused {
                    path: shown,
                    why: format!(
                        "a symbolic link to {}, outside the source folder {}",
                        real.display(),
                        root.display()
                    ),
                });
                continue;
            }
            let meta = fs::metadata(&real).map_err(|e| context(e, &p))?;
            if meta.is_dir() {
                if stack.contains(&real) {
                    out.push(Found::Refused {
                        path: shown,
                        why: format!(
                            "a symbolic link to the folder {}, which contains it (a loop)",
                            real.display()
                        ),
                    });
                    continue;
                }
                stack.push(real);
                walk(&p, root, stack, out)?;
                stack.pop();
            } else if meta.is_file() {
                out.push(Found::File {
                    path: shown,
                    size: meta.len(),
                });
            }
        } else if ft.is_dir() {
            stack.push(fs::canonicalize(&p).map_err(|e| context(e, &p))?);
            walk(&p, root, stack, out)?;
            stack.pop();
        } else if ft.is_file() {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if crate::cleanup::is_temp_name(name) {
                continue;
            }
            let size = entry.metadata().map_err(|e| context(e, &p))?.len();
            out.push(Found::File { path: shown, size });
        }
    }
    Ok(())
}
