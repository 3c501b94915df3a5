//! Progress bars: drawn on stderr when it is a terminal (checked in a real
//! one, a tmux pane), never when stderr is a pipe or a file.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

/// tmux, to run etl in a real terminal; CI must have it
/// (scripts/services.sh install brings it).
fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var("CI").is_ok() {
        panic!("CI must provide tmux (scripts/services.sh install)");
    }
    if !found {
        eprintln!("skipped: tmux not available");
    }
    found
}

/// A CSV big enough that reading it takes seconds in a debug build.
fn big_csv(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("big.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "id,amount,city,note").unwrap();
    for i in 0..1_500_000u64 {
        writeln!(
            w,
            "{i},{}.{:02},city-{},a note about row {i} that makes it longer",
            i % 1000,
            i % 100,
            i % 37
        )
        .unwrap();
    }
    w.flush().unwrap();
    path
}

/// A tmux server of the test's own (its socket in `dir`), killed on drop.
struct Terminal {
    socket: std::path::PathBuf,
}

impl Terminal {
    fn start(dir: &Path) -> Terminal {
        let t = Terminal {
            socket: dir.join("tmux.sock"),
        };
        let ok = t
            .tmux(&["new-session", "-d", "-x", "120", "-y", "30", "-s", "etl"])
            .status
            .success();
        assert!(ok, "tmux new-session failed");
        t
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "etl"]).stdout)
            .into_owned()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn a_long_ingest_draws_a_bar_on_a_terminal_and_nothing_in_a_pipe() {
    if !tmux_available() {
        return;
    }
    let dir = tempdir();
    let input = big_csv(dir.path());
    let out = dir.path().join("out.parquet");
    let term = Terminal::start(dir.path());
    // NO_COLOR only takes colour away: the bar stays.
    let command = format!(
        "NO_COLOR=1 '{}' ingest '{}' -o '{}'; echo \"etl-exit-$?\"",
        etl_bin(),
        input.display(),
        out.display()
    );
    assert!(term
        .tmux(&["send-keys", "-t", "etl", &command, "Enter"])
        .status
        .success());
    let started = Instant::now();
    let mut bars = Vec::new();
    let last = loop {
        let screen = term.screen();
        if let Some(line) = screen
            .lines()
            .find(|l| l.contains("reading") && l.contains("eta"))
        {
            bars.push(line.to_string());
        }
        if screen.contains("etl-exit-") {
            break screen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "etl did not finish: {screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(last.contains("etl-exit-0"), "{last}");
    assert!(!bars.is_empty(), "no progress bar was drawn; last screen:\n{last}");
    // The bar shows bytes done of the total, a rate and an ETA.
    let bar = bars.last().unwrap();
    assert!(
        bar.contains("big.csv") && bar.contains("MiB/") && bar.contains("/s"),
        "{bar}"
    );
    // Cleared when done: the summary line is what stays.
    assert!(last.contains("etl ingest: wrote 1500000 rows"), "{last}");
    assert!(!last.contains(" eta "), "{last}");

    // stderr a pipe: the same run draws nothing.
    std::fs::remove_file(&out).unwrap();
    let piped = run(&[
        "ingest",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert_eq!(
        piped.stderr.trim_end().lines().count(),
        1,
        "only the summary line: {:?}",
        piped.stderr
    );
    assert!(
        !piped.stderr.contains('\r') && !piped.stderr.contains('\x1b'),
        "{:?}",
        piped.stderr
    );
}
