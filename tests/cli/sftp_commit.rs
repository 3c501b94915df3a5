//! How an SFTP upload takes the target's place on servers without the
//! posix-rename extension (the private sshd of scripts/services.sh offers
//! one port without it and one that refuses renames): the old file is
//! replaced when a rename can, and never lost when it cannot.

use crate::common::*;
use crate::transfer::{fails_env, need, ok_env, unique, var};

const VARS: &[&str] = &[
    "ETL_TEST_SFTP_NO_POSIX_RENAME_URL",
    "ETL_TEST_SFTP_NO_RENAME_URL",
    "ETL_TEST_SSH_KEY",
    "ETL_TEST_SFTP_ROOT",
    "ETL_TEST_SFTP_URL",
];

/// The local path of an SFTP URL's path (the server's files are on this machine).
fn on_disk(url: &str, name: &str) -> std::path::PathBuf {
    let base = url::Url::parse(&var("ETL_TEST_SFTP_URL")).unwrap();
    let root = std::path::PathBuf::from(var("ETL_TEST_SFTP_ROOT"));
    let u = url::Url::parse(url).unwrap();
    let rel = u.path().strip_prefix(base.path()).unwrap_or(u.path());
    root.join(rel.trim_start_matches('/')).join(name)
}

#[test]
fn uploads_replace_files_without_posix_rename_and_never_lose_them() {
    if !need(VARS, "sshd") {
        return;
    }
    let dir = tempdir();
    let kh = dir.path().join("known_hosts");
    let auth = |args: &mut Vec<String>| {
        args.extend(
            [
                "-i",
                &var("ETL_TEST_SSH_KEY"),
                "--known-hosts",
                kh.to_str().unwrap(),
                "--accept-new-host-key",
            ]
            .map(String::from),
        )
    };
    let v1 = csv_in(dir.path(), "v1.csv", "id\n1\n");
    let v2 = csv_in(dir.path(), "v2.csv", "id\n2\n22\n");

    // Without posix-rename: the old file is moved aside, replaced, removed.
    let folder = unique("no-posix");
    let url = format!("{}{folder}/", var("ETL_TEST_SFTP_NO_POSIX_RENAME_URL"));
    for input in [&v1, &v2] {
        let mut args = vec!["transfer".to_string(), input.clone(), format!("{url}t.csv")];
        auth(&mut args);
        ok_env(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let target = on_disk(&url, "t.csv");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "id\n2\n22\n");
    let names: Vec<String> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["t.csv"], "left behind");

    // A server that refuses renames: the upload fails clearly and the old
    // file is still there, whole.
    let folder = unique("no-rename");
    let url = format!("{}{folder}/", var("ETL_TEST_SFTP_NO_RENAME_URL"));
    let target = on_disk(&url, "t.csv");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, "id\n1\n").unwrap();
    let mut args = vec!["transfer".to_string(), v2.clone(), format!("{url}t.csv")];
    auth(&mut args);
    let r = fails_env(&args.iter().map(String::as_str).collect::<Vec<_>>(), 3);
    assert!(
        r.stderr.contains("t.csv") && r.stderr.contains("could not be renamed into place"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "id\n1\n");
    let names: Vec<String> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["t.csv"], "left behind");
}
