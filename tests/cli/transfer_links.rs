//! `etl transfer` and symbolic links in a source folder: followed when they
//! point inside the folder (a file or a folder, copied as what they point
//! to), refused by name when they lead out of it, to nothing, or in a loop,
//! before anything is copied; `--exclude` leaves such a link out.

use std::os::unix::fs::symlink;

use crate::common::*;

#[test]
fn links_inside_the_folder_are_followed_and_links_out_are_refused() {
    let dir = tempdir();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("2024/12")).unwrap();
    std::fs::write(src.join("2024/12/a.csv"), "id\n1\n").unwrap();
    symlink("2024/12", src.join("current")).unwrap();
    symlink("2024/12/a.csv", src.join("latest.csv")).unwrap();
    let s = src.to_str().unwrap();

    let out = dir.path().join("out");
    let r = ok(&[
        "transfer",
        "-r",
        s,
        &format!("{}/", out.display()),
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(summary["copied"], 3, "{summary}");
    for copied in ["2024/12/a.csv", "current/a.csv", "latest.csv"] {
        assert_eq!(
            std::fs::read_to_string(out.join(copied)).unwrap(),
            "id\n1\n",
            "{copied}"
        );
        assert!(!out.join(copied).is_symlink(), "{copied} copied as a link");
    }

    // A link to a file outside the folder: refused by name, nothing copied.
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "do not ship\n").unwrap();
    symlink(&secret, src.join("leak.txt")).unwrap();
    let out2 = dir.path().join("out2");
    let r = fails(&["transfer", "-r", s, &format!("{}/", out2.display())], 1);
    assert!(
        r.stderr.contains("leak.txt")
            && r.stderr.contains("outside the source folder")
            && r.stderr.contains("--exclude"),
        "{}",
        r.stderr
    );
    assert!(!out2.exists(), "something was copied");
    // --exclude leaves it out; the rest is copied.
    let out3 = dir.path().join("out3");
    ok(&[
        "transfer",
        "-r",
        s,
        &format!("{}/", out3.display()),
        "--exclude",
        "leak.txt",
    ]);
    assert!(out3.join("current/a.csv").is_file());
    assert!(!out3.join("leak.txt").exists());
    std::fs::remove_file(src.join("leak.txt")).unwrap();

    // A folder link out of the folder, a loop, a link to nothing.
    let outside = dir.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("b.csv"), "id\n2\n").unwrap();
    for (link, to, says) in [
        (
            "ext",
            outside.to_str().unwrap(),
            "outside the source folder",
        ),
        ("2024/12/up", "..", "a loop"),
        ("gone.csv", "missing.csv", "does not exist"),
    ] {
        symlink(to, src.join(link)).unwrap();
        let out4 = dir.path().join("out4");
        let r = fails(&["transfer", "-r", s, &format!("{}/", out4.display())], 1);
        let name = link.rsplit('/').next().unwrap();
        assert!(
            r.stderr.contains(name) && r.stderr.contains(says),
            "{link}: {}",
            r.stderr
        );
        assert!(!out4.exists(), "{link}: something was copied");
        std::fs::remove_file(src.join(link)).unwrap();
    }
}
