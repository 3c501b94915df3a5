//! No credential reaches any output: every form a URL can carry one in
//! (userinfo, even when the URL does not parse; `password=`, `token=`,
//! `sig=` query parameters; Azure SAS tokens), on every path (messages, the
//! dry-run plan, pipeline logs and log files, manifests).

use std::path::Path;

use crate::common::*;

const SECRET: &str = "SeCrEt";

/// Everything a run wrote: its stdout, stderr, and the files under `dir`
/// (its root and logs; the pipeline file with the secret lies beside it).
fn all_output(r: &Run, dir: &Path) -> String {
    let mut text = format!("{}\n{}\n", r.stdout, r.stderr);
    for f in files_under(dir) {
        if let Ok(s) = std::fs::read_to_string(dir.join(&f)) {
            text.push_str(&s);
        }
    }
    text
}

fn assert_hidden(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET),
        "{what}: the secret shows in\n{text}"
    );
}

#[test]
fn a_url_that_does_not_parse_shows_no_password() {
    for url in [
        "postgres://u:SeCrEt@h:99999/db",
        "mysql://u:pa/SeCrEt@127.0.0.1:1/db",
        "file://u:SeCrEt@host:99999/x.csv",
    ] {
        let r = run(&["ingest", url, "--table", "t", "--to", "csv"]);
        assert_eq!(r.code, 2, "{url}: {}", r.stderr);
        assert!(r.stderr.contains("u:***@"), "{url}: {}", r.stderr);
        assert_hidden(url, &format!("{}{}", r.stdout, r.stderr));
    }
}

#[test]
fn secret_query_parameters_are_hidden_in_errors() {
    for url in [
        "postgres://etl@127.0.0.1:1/db?password=SeCrEt",
        "mysql://etl@127.0.0.1:1/db?password=SeCrEt",
    ] {
        let r = run(&["ingest", url, "--table", "t", "--to", "csv"]);
        assert!(matches!(r.code, 2 | 3), "{url}: {}", r.stderr);
        assert!(r.stderr.contains("password=***"), "{url}: {}", r.stderr);
        assert_hidden(url, &format!("{}{}", r.stdout, r.stderr));
    }
}

#[test]
fn pipeline_transfer_sources_are_hidden_in_plan_logs_and_manifest() {
    let dir = tempdir();
    let out = dir.path().join("out");
    let root = out.join("root");
    let file = dir.path().join("t.toml");
    std::fs::write(
        &file,
        format!(
            r#"[pipeline]
name = "leak"
root = "{root}"

[[stage]]
name = "fetch"
transfer = {{ from = ["sftp://u:SeCrEt@127.0.0.1:1/in/x.csv", "az://c/x.csv?sv=2022-11-02&sp=r&sig=SeCrEt", "s3://b/x.csv?X-Amz-Security-Token=SeCrEt"], to = ["{root}/out/"] }}
"#,
            root = root.display()
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let r = run(&["run-pipeline", f, "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("sftp://u:***@127.0.0.1"), "{}", r.stdout);
    assert!(r.stdout.contains("sig=***"), "{}", r.stdout);
    assert_hidden("--dry-run", &all_output(&r, &out));

    for format in ["human", "json"] {
        let log = out.join(format!("logs/{format}.log"));
        let r = run(&[
            "run-pipeline",
            f,
            "--log-format",
            format,
            "--log-file",
            log.to_str().unwrap(),
        ]);
        assert_ne!(r.code, 0, "{}", r.stderr);
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(logged.contains("started"), "{logged}");
        assert!(logged.contains("u:***@127.0.0.1"), "{logged}");
        assert!(!files_under(&root.join("_runs")).is_empty());
        assert_hidden(format, &all_output(&r, &out));
    }
}
