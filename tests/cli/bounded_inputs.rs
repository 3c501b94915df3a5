//! Big inputs stay bounded: naming a bad value at the end of a big CSV,
//! `head` of a compressed file, a partitioned warehouse load and a big JSON
//! array. Each runs etl under a limit (address space, or the size of any
//! file it writes) that the unbounded way of doing the same work exceeds,
//! so a regression fails here instead of exhausting the machine.

use std::io::Write;
use std::path::Path;

use crate::common::*;

/// etl under `limit` (a prlimit option such as `--as=1200000000`), with
/// TMPDIR in `tmp` so that scratch files can be checked.
fn run_limited(limit: &str, tmp: &Path, args: &[&str]) -> Run {
    std::process::Command::new("prlimit")
        .arg(limit)
        .arg(etl_bin())
        .args(args)
        .env_remove("COLUMNS")
        .env("TMPDIR", tmp)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into()
}

/// Like [`run_limited`], also giving etl's peak resident memory in KB (from
/// wait4's rusage: prlimit execs etl in the same process).
// The child is reaped by wait4 below, which also gives its rusage.
#[allow(clippy::zombie_processes)]
fn run_measured(limit: &str, tmp: &Path, args: &[&str]) -> (Run, u64) {
    use std::io::Read;
    let mut child = std::process::Command::new("prlimit")
        .arg(limit)
        .arg(etl_bin())
        .args(args)
        .env_remove("COLUMNS")
        .env("TMPDIR", tmp)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf).unwrap();
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: waits for our own child, which is not waited for elsewhere.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    let run = Run {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        raw: stdout,
    };
    (run, usage.ru_maxrss as u64)
}

/// The address space etl gets: what a run needs (polars and its threads
/// reserve about 1.5 GB) with room to spare, less than a 1.5 GB input held
/// whole on top.
const ADDRESS_SPACE: &str = "--as=2200000000";

/// Streams `rows` lines made by `line` into `path`.
fn write_lines(path: &Path, head: &str, rows: u64, line: impl Fn(u64) -> String) {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    w.write_all(head.as_bytes()).unwrap();
    for i in 0..rows {
        w.write_all(line(i).as_bytes()).unwrap();
    }
    w.flush().unwrap();
}

/// Naming the line of a bad value reads the file in chunks and stops at
/// the value: reading the whole 1.5 GB file to find it, as before, does not
/// fit the limit (the line then went unnamed). `head` reads only the start,
/// and polars stops at the bad value in row 2 (its type is given), so only
/// the explanation would read the rest.
#[test]
fn naming_a_bad_value_in_a_big_csv_streams_the_file() {
    if prlimit().is_none() {
        return;
    }
    let dir = tempdir();
    let input = dir.path().join("big.csv");
    let block: String = (0..100_000).map(|i| format!("{i},{i}\n")).collect();
    let mut w = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    w.write_all(b"id,qty\n1,1\n2,oops\n").unwrap();
    for _ in 0..(1_500_000_000 / block.len()) {
        w.write_all(block.as_bytes()).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let r = run_limited(
        ADDRESS_SPACE,
        dir.path(),
        &[
            "head",
            "-n",
            "3",
            "--schema",
            "qty:int",
            input.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(&input).unwrap();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("big.csv: line 3, column 'qty': 'oops' is not a valid i64"),
        "{}",
        r.stderr
    );
}

/// The same at the end of a file read whole: the line is named.
#[test]
fn a_bad_value_at_the_end_of_a_csv_is_named() {
    let dir = tempdir();
    let input = dir.path().join("end.csv");
    let rows = 30_000u64;
    write_lines(&input, "id,qty\n", rows, |i| format!("{i},{i}\n"));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap();
    f.write_all(b"x,1\n").unwrap();
    drop(f);
    let out = dir.path().join("out.parquet");
    let r = run(&[
        "ingest",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let line = rows + 2;
    assert!(
        r.stderr.contains(&format!(
            "end.csv: line {line}, column 'id': 'x' is not a valid i64"
        )),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}

/// What etl may write into any one file in the tests below (RLIMIT_FSIZE:
/// a bigger write kills it): far less than the inputs decompressed.
const FILE_SIZE: &str = "--fsize=64000000";

/// `members` concatenated copies of `body` compressed with `tool`, after
/// `first` compressed alike: a valid stream (gzip, zstd, bzip2 and xz all
/// read concatenated members) of little size that decompresses to a lot.
fn compressed_repeats(
    dir: &Path,
    name: &str,
    tool: &str,
    first: &str,
    body: &str,
    last: &str,
    members: usize,
) -> std::path::PathBuf {
    let pack = |text: &str| -> Vec<u8> {
        let mut child = std::process::Command::new(tool)
            .args(["-c", "-9"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let text = text.to_string();
        let feeder = std::thread::spawn(move || stdin.write_all(text.as_bytes()).unwrap());
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        assert!(out.status.success(), "{tool} failed");
        out.stdout
    };
    let path = dir.join(name);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    w.write_all(&pack(first)).unwrap();
    let middle = pack(body);
    for _ in 0..members {
        w.write_all(&middle).unwrap();
    }
    if !last.is_empty() {
        w.write_all(&pack(last)).unwrap();
    }
    w.flush().unwrap();
    path
}

/// `etl head` of a compressed CSV, JSON lines or JSON array decompresses
/// only the start it needs: writing the whole decompressed file (about
/// 1 GB each here) to TMPDIR first, as before, is more than etl may write.
#[test]
fn head_of_a_compressed_text_file_reads_only_its_start() {
    if prlimit().is_none() {
        return;
    }
    let dir = tempdir();
    let scratch = dir.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    // The same row over and over: about 1,000 times smaller compressed.
    let csv_rows = "1,name 1\n".repeat(200_000);
    let json_rows = "{\"id\":1,\"name\":\"name 1\"}\n".repeat(100_000);
    let array_rows = json_rows.replace('\n', ",\n");
    let cases = [
        (
            "gzip",
            "big.csv.gz",
            "id,name\n0,first\n",
            csv_rows.as_str(),
            "",
        ),
        (
            "zstd",
            "big.csv.zst",
            "id,name\n0,first\n",
            csv_rows.as_str(),
            "",
        ),
        (
            "gzip",
            "big.ndjson.gz",
            "{\"id\":0,\"name\":\"first\"}\n",
            json_rows.as_str(),
            "",
        ),
        (
            "gzip",
            "big.json.gz",
            "[{\"id\":0,\"name\":\"first\"},\n",
            array_rows.as_str(),
            "{\"id\":1,\"name\":\"last\"}]\n",
        ),
    ];
    for (tool, name, first, body, last) in cases {
        let members = (1usize << 30) / body.len();
        let input = compressed_repeats(dir.path(), name, tool, first, body, last, members);
        assert!(std::fs::metadata(&input).unwrap().len() < 32 << 20);
        let r = run_limited(
            FILE_SIZE,
            &scratch,
            &["head", "-n", "3", input.to_str().unwrap(), "--to", "csv"],
        );
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert_eq!(r.stdout, "id,name\n0,first\n1,name 1\n1,name 1\n", "{name}");
        assert_eq!(
            files_under(&scratch),
            Vec::<String>::new(),
            "{name}: scratch left"
        );
    }
}

/// What a partitioned load may write into one file: far less than its
/// input, so a spool of the whole input is more.
const SPOOL_SIZE: u64 = 8_000_000;

/// A partitioned warehouse load reads its input once and writes each
/// partition as it goes: no uncompressed copy of the whole input (as the
/// spool it used to read once per partition value was) is ever written.
#[test]
fn a_partitioned_load_is_one_pass_without_a_spool() {
    if prlimit().is_none() {
        return;
    }
    let dir = tempdir();
    let scratch = dir.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    let input = dir.path().join("sales.csv");
    let rows = 300_000u64;
    // 50 cities, a null and Hive's null marker as text, plus a long note.
    let note = "n".repeat(60);
    write_lines(&input, "id,city,amount,note\n", rows, |i| {
        let city = match i % 52 {
            50 => String::new(),
            51 => "__HIVE_DEFAULT_PARTITION__".into(),
            c => format!("city{c}"),
        };
        format!("{i},{city},{}.5,{note}{}\n", i % 1000, i % 10)
    });
    assert!(std::fs::metadata(&input).unwrap().len() > 2 * SPOOL_SIZE);
    let wh = dir.path().join("wh");
    let r = run_limited(
        &format!("--fsize={SPOOL_SIZE}"),
        &scratch,
        &[
            "persist",
            wh.to_str().unwrap(),
            "--table",
            "db.sales",
            "-i",
            input.to_str().unwrap(),
            "--partition-by",
            "city",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("wrote {rows} rows")),
        "{}",
        r.stderr
    );
    let table = wh.join("db/sales");
    let folders: Vec<String> = std::fs::read_dir(&table)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(folders.len(), 52, "{folders:?}");
    // Every partition holds its share of the rows, read back from disk.
    for (folder, expected) in [
        ("city=city7", rows / 52 + u64::from(rows % 52 > 7)),
        (
            "city=__HIVE_DEFAULT_PARTITION__",
            rows / 52 + u64::from(rows % 52 > 50),
        ),
        (
            "city=%5F_HIVE_DEFAULT_PARTITION__",
            rows / 52 + u64::from(rows % 52 > 51),
        ),
    ] {
        let r = ok(&[
            "ingest",
            table.join(folder).to_str().unwrap(),
            "--to",
            "csv",
        ]);
        assert_eq!(r.stdout.lines().count() as u64 - 1, expected, "{folder}");
    }
    assert_eq!(files_under(&scratch), Vec::<String>::new(), "scratch left");
}

/// A JSON array of small objects reads in bounded memory: polars' whole-
/// document reader, used before, peaked at 17 times the file's size (660 MB
/// for these 39 MB); the streaming read stays near 160 MB whatever the size.
#[test]
fn a_big_json_array_reads_in_bounded_memory() {
    if prlimit().is_none() {
        return;
    }
    let dir = tempdir();
    let input = dir.path().join("big.json");
    let rows = 1_000_000u64;
    write_lines(&input, "[\n", rows, |i| {
        let sep = if i + 1 == rows { "\n]\n" } else { ",\n" };
        format!(
            "{{\"id\":{i},\"name\":\"row {}\",\"v\":{}.5}}{sep}",
            i % 100,
            i % 7
        )
    });
    let out = dir.path().join("out.parquet");
    let (r, peak_kb) = run_measured(
        "--as=4000000000",
        dir.path(),
        &[
            "ingest",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("wrote {rows} rows")),
        "{}",
        r.stderr
    );
    assert!(peak_kb < 400_000, "peak resident memory {peak_kb} KB");
    let r = ok(&["inspect", out.to_str().unwrap(), "--json", "--no-stats"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["rows"], rows);
}

/// One element of a JSON array bigger than the documented limit fails with
/// a clear message instead of growing without bound.
#[test]
fn a_json_row_over_the_limit_fails_clearly() {
    if prlimit().is_none() {
        return;
    }
    let dir = tempdir();
    let input = dir.path().join("huge_row.json");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    w.write_all(b"[{\"id\":1,\"text\":\"short\"},\n{\"id\":2,\"text\":\"")
        .unwrap();
    let block = "x".repeat(1 << 20);
    for _ in 0..70 {
        w.write_all(block.as_bytes()).unwrap();
    }
    w.write_all(b"\"}]\n").unwrap();
    w.flush().unwrap();
    drop(w);
    let out = dir.path().join("out.parquet");
    let r = run_limited(
        ADDRESS_SPACE,
        dir.path(),
        &[
            "ingest",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("huge_row.json: line 2: one element of the JSON array is over 64 MiB"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}
