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
    // Screens sampled while etl ran, and how many of them showed a bar.
    let (mut samples, mut with_bar) = (0usize, 0usize);
    let (last, code) = loop {
        let screen = term.screen();
        let bar = screen
            .lines()
            .find(|l| l.contains("big.csv [") && l.contains("eta"));
        if started.elapsed() > Duration::from_secs(2) {
            samples += 1;
            with_bar += usize::from(bar.is_some());
        }
        if let Some(line) = bar {
            bars.push(line.to_string());
        }
        // The exit line, not the typed command that holds `etl-exit-$?`.
        let exit = screen.lines().find_map(|l| {
            l.trim()
                .strip_prefix("etl-exit-")
                .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_string)
        });
        if let Some(code) = exit {
            break (screen, code);
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "etl did not finish: {screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, "0", "{last}");
    assert!(
        !bars.is_empty(),
        "no progress bar was drawn; last screen:\n{last}"
    );
    // A bar for the whole run, not only the first pass over the file: the
    // check ("checking"), then polars' read and write ("reading").
    assert!(
        bars.iter().any(|b| b.starts_with("checking "))
            && bars.iter().any(|b| b.starts_with("reading ")),
        "{bars:?}"
    );
    assert!(
        with_bar * 10 >= samples * 8,
        "a bar on {with_bar} of {samples} screens: {bars:?}"
    );
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
