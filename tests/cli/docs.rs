//! Generated docs: man pages under man/ must match the clap definitions;
//! completions are generated for each shell; help is complete.

use crate::common::*;

#[test]
fn committed_man_pages_are_fresh() {
    let dir = tempdir();
    ok(&["man", dir.path().to_str().unwrap()]);
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(
        names.contains(&"etl.1".to_string()) && names.contains(&"etl-ingest.1".to_string()),
        "{names:?}"
    );
    for name in &names {
        let fresh = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let old = std::fs::read_to_string(committed.join(name)).unwrap_or_default();
        assert!(
            fresh == old,
            "man/{name} is stale: run `cargo run -- man man/` and commit"
        );
    }
    let mut old_names: Vec<String> = std::fs::read_dir(&committed)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    old_names.sort();
    assert_eq!(
        old_names, names,
        "man/ holds pages for commands that no longer exist"
    );
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let r = ok(&["completions", shell]);
        assert!(
            r.stdout.contains("ingest") && r.stdout.contains("add-source-column"),
            "{shell}"
        );
    }
}

#[test]
fn every_flag_has_help_text_and_commands_have_examples() {
    let dir = tempdir();
    ok(&["man", dir.path().to_str().unwrap()]);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if *line == ".TP" {
                let option = lines.get(i + 1).copied().unwrap_or("");
                let help = lines.get(i + 2).copied().unwrap_or("");
                assert!(
                    !help.is_empty() && !help.starts_with('.'),
                    "{}: option without help text: {option}",
                    path.display()
                );
            }
        }
    }
    for cmd in ["ingest", "inspect", "head"] {
        assert!(
            ok(&[cmd, "--help"]).stdout.contains("Examples:"),
            "{cmd} --help has examples"
        );
    }
}
